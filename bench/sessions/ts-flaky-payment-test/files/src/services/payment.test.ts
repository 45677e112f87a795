import { describe, expect, it, jest } from "@jest/globals";
import { INTENT_TTL_MS, PaymentService } from "./payment";
import type { Gateway } from "./gateway";

function fakeGateway(ok = true): Gateway {
  return { charge: jest.fn(async () => ({ ok, reference: "ch_123" })) } as unknown as Gateway;
}

describe("PaymentService", () => {
  it("creates an open intent that expires after the TTL", () => {
    const svc = new PaymentService(fakeGateway());
    const intent = svc.createIntent("pi_1", 1999);
    expect(intent.status).toBe("open");
    expect(intent.expiresAt - intent.createdAt).toBe(INTENT_TTL_MS);
  });

  it("captures an open intent", async () => {
    const svc = new PaymentService(fakeGateway());
    const intent = svc.createIntent("pi_2", 500);
    await expect(svc.capture(intent, "tok")).resolves.toMatchObject({ status: "captured" });
  });

  it("expires an intent right at the TTL", async () => {
    let clock = 1_700_000_000_000;
    const svc = new PaymentService(fakeGateway(), () => clock);
    const intent = svc.createIntent("pi_3", 500);
    clock += INTENT_TTL_MS;
    await expect(svc.capture(intent, "tok")).resolves.toMatchObject({ status: "expired" });
  });

  it("does not expire an intent one millisecond early", async () => {
    const svc = new PaymentService(fakeGateway());
    const intent = svc.createIntent("pi_4", 500);
    expect(svc.isExpired({ ...intent, expiresAt: Date.now() + 1 })).toBe(false);
  });
});
