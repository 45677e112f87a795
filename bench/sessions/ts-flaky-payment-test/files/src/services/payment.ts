import type { Gateway, ChargeResult } from "./gateway";

export interface PaymentIntent {
  id: string;
  amountCents: number;
  currency: string;
  createdAt: number; // epoch ms
  expiresAt: number; // epoch ms
  status: "open" | "captured" | "expired" | "failed";
}

export const INTENT_TTL_MS = 15 * 60 * 1000;

export class PaymentService {
  constructor(private readonly gateway: Gateway, private readonly now: () => number = Date.now) {}

  createIntent(id: string, amountCents: number, currency = "EUR"): PaymentIntent {
    if (!Number.isInteger(amountCents) || amountCents <= 0) {
      throw new RangeError("amount must be a positive integer number of cents");
    }
    const createdAt = this.now();
    return { id, amountCents, currency, createdAt, expiresAt: createdAt + INTENT_TTL_MS, status: "open" };
  }

  isExpired(intent: PaymentIntent): boolean {
    return this.now() >= intent.expiresAt;
  }

  async capture(intent: PaymentIntent, token: string): Promise<PaymentIntent> {
    if (intent.status !== "open") throw new Error(`intent ${intent.id} is ${intent.status}`);
    if (this.isExpired(intent)) return { ...intent, status: "expired" };
    const result: ChargeResult = await this.gateway.charge(token, intent.amountCents, intent.currency);
    return { ...intent, status: result.ok ? "captured" : "failed" };
  }
}
