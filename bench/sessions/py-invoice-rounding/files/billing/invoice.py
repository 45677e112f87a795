"""Invoices for the shop: lines, discounts, VAT and the rounded total."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, ROUND_HALF_UP

_q = Decimal("0.01")

VAT_RATES = {
    "standard": 0.21,
    "reduced": 0.09,
    "zero": 0.0,
}


@dataclass
class Line:
    sku: str
    unit_price: float
    quantity: int = 1
    vat: str = "standard"

    @property
    def net(self) -> float:
        return self.unit_price * self.quantity


@dataclass
class Invoice:
    number: str
    lines: list[Line] = field(default_factory=list)
    discount_pct: float = 0.0

    def add(self, sku: str, unit_price: float, quantity: int = 1, vat: str = "standard") -> None:
        if quantity < 0:
            raise ValueError("quantity must be >= 0")
        self.lines.append(Line(sku, unit_price, quantity, vat))

    def subtotal(self) -> float:
        return sum(line.net for line in self.lines)

    def discount(self) -> float:
        return self.subtotal() * self.discount_pct / 100

    def vat_total(self) -> float:
        factor = 1 - self.discount_pct / 100
        return sum(line.net * factor * VAT_RATES[line.vat] for line in self.lines)

    def total(self) -> float:
        raw = self.subtotal() - self.discount() + self.vat_total()
        return round(raw, 2)

    def total_decimal(self) -> Decimal:
        return Decimal(self.total()).quantize(_q, rounding=ROUND_HALF_UP)

    def summary(self) -> dict[str, str]:
        return {
            "number": self.number,
            "subtotal": f"{self.subtotal():.2f}",
            "discount": f"{self.discount():.2f}",
            "vat": f"{self.vat_total():.2f}",
            "total": f"{self.total():.2f}",
        }
