"""Order handling for a small shop (sample workspace for the kilo-lsp demo)."""

import sqlite3

from shop.pricing import apply_discount


def connect(path="shop.db"):
    return sqlite3.connect(path)


def load_order(conn, order_id):
    row = conn.execute("SELECT id, customer, total FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise KeyError(order_id)
    return {"id": row[0], "customer": row[1], "total": row[2]}


def checkout(conn, order_id, code=None):
    order = load_order(conn, order_id)
    total = apply_discount(order["total"], code)
    conn.execute("UPDATE orders SET total = ?, status = 'paid' WHERE id = ?", (total, order_id))
    conn.commit()
    return total
