import { API_BASE, authHeader } from "./config";

export interface Invoice {
  id: string;
  orderId: string;
  pdfUrl: string;
  issuedAt: string;
}

export async function listInvoices(orderId: string): Promise<Invoice[]> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${API_BASE}/orders/${orderId}/invoices`, { headers: authHeader() });
    if (res.ok) return (await res.json()) as Invoice[];
    if (res.status < 500 || attempt === 2) {
      const text = await res.text();
      throw new Error(`invoices: ${res.status} ${text.slice(0, 200)}`);
    }
    await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
  }
}
