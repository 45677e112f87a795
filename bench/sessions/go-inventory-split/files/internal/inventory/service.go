// Package inventory keeps stock levels and reservations. Today it lives in the monolith and is
// called in-process by orders, returns and the admin tools.
package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

var ErrInsufficientStock = errors.New("insufficient stock")

type Service struct {
	db *sql.DB
}

func NewService(db *sql.DB) *Service { return &Service{db: db} }

// Reserve holds qty units of sku for an order. It must run inside the caller's transaction so
// that the reservation and the order row commit together.
func (s *Service) Reserve(ctx context.Context, tx *sql.Tx, orderID int64, sku string, qty int) error {
	var available int
	err := tx.QueryRowContext(ctx,
		`SELECT on_hand - reserved FROM stock WHERE sku = $1 FOR UPDATE`, sku).Scan(&available)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("unknown sku %q", sku)
	}
	if err != nil {
		return err
	}
	if available < qty {
		return ErrInsufficientStock
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stock SET reserved = reserved + $1 WHERE sku = $2`, qty, sku); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO reservations (order_id, sku, qty) VALUES ($1, $2, $3)`, orderID, sku, qty)
	return err
}

// Release gives back everything reserved for an order (cancellation, payment failure).
func (s *Service) Release(ctx context.Context, tx *sql.Tx, orderID int64) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE stock SET reserved = reserved - r.qty
		FROM reservations r WHERE r.order_id = $1 AND stock.sku = r.sku`, orderID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM reservations WHERE order_id = $1`, orderID)
	return err
}

func (s *Service) OnHand(ctx context.Context, sku string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT on_hand FROM stock WHERE sku = $1`, sku).Scan(&n)
	return n, err
}
