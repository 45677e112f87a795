package orders

import (
	"context"
	"database/sql"
	"fmt"

	"git.acme.dev/shop/internal/inventory"
)

type Line struct {
	SKU string
	Qty int
}

type Checkout struct {
	db  *sql.DB
	inv *inventory.Service
}

// Place creates the order and reserves its stock in one transaction.
func (c *Checkout) Place(ctx context.Context, customerID int64, lines []Line) (int64, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	var orderID int64
	if err := tx.QueryRowContext(ctx,
		`INSERT INTO orders (customer_id, status) VALUES ($1, 'pending') RETURNING id`, customerID).Scan(&orderID); err != nil {
		return 0, err
	}
	for _, l := range lines {
		if err := c.inv.Reserve(ctx, tx, orderID, l.SKU, l.Qty); err != nil {
			return 0, fmt.Errorf("reserve %s: %w", l.SKU, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO order_lines (order_id, sku, qty) VALUES ($1, $2, $3)`, orderID, l.SKU, l.Qty); err != nil {
			return 0, err
		}
	}
	return orderID, tx.Commit()
}
