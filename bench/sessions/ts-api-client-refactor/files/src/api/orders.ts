import { API_BASE, authHeader } from "./config";

export interface Order {
  id: string;
  status: "pending" | "paid" | "shipped" | "cancelled";
  totalCents: number;
  createdAt: string;
}

export async function listOrders(page = 1): Promise<Order[]> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const res = await fetch(`${API_BASE}/orders?page=${page}`, { headers: { ...authHeader() } });
      if (res.status >= 500) throw new Error(`server error ${res.status}`);
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new Error(body.message ?? `request failed: ${res.status}`);
      }
      return (await res.json()) as Order[];
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
  throw lastError;
}

export async function cancelOrder(id: string): Promise<Order> {
  const res = await fetch(`${API_BASE}/orders/${id}/cancel`, {
    method: "POST",
    headers: { ...authHeader(), "Content-Type": "application/json" },
  });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.message ?? `request failed: ${res.status}`);
  }
  return (await res.json()) as Order;
}
