import pytest

from billing.invoice import Invoice


def make_invoice(discount_pct=0.0):
    inv = Invoice("2024-0117", discount_pct=discount_pct)
    inv.add("MUG-01", 8.99, quantity=2)
    return inv


def test_subtotal():
    assert make_invoice().subtotal() == pytest.approx(17.98)


def test_total_with_tax():
    inv = Invoice("2024-0118")
    inv.add("TEA-250", 4.50, quantity=4)
    inv.add("SPOON", 0.50, quantity=1)
    assert inv.total() == 22.39


def test_total_with_discount():
    inv = Invoice("2024-0119", discount_pct=10)
    inv.add("KETTLE", 39.95)
    inv.add("FILTER", 1.25, quantity=2)
    assert inv.total() == 46.23


def test_negative_quantity_rejected():
    with pytest.raises(ValueError):
        make_invoice().add("X", 1.0, quantity=-1)
