// Package export writes ledger entries as JSON lines for the nightly data dump.
package export

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

type Entry struct {
	ID        int64             `json:"id"`
	Account   string            `json:"account"`
	AmountStr string            `json:"amount"`
	Currency  string            `json:"currency"`
	Booked    time.Time         `json:"booked"`
	Tags      []string          `json:"tags"`
	Meta      map[string]string `json:"meta,omitempty"`
}

// Export streams every entry booked in [from, to) to w, one JSON object per line.
func Export(ctx context.Context, db *sql.DB, w io.Writer, from, to time.Time) (int, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT id, account, amount_cents, currency, booked_at, tags, meta FROM ledger
		 WHERE booked_at >= $1 AND booked_at < $2 ORDER BY id`, from, to)
	if err != nil {
		return 0, err
	}
	defer rows.Close()

	var out string
	n := 0
	for rows.Next() {
		var (
			e     Entry
			cents int64
			tags  string
			meta  []byte
		)
		if err := rows.Scan(&e.ID, &e.Account, &cents, &e.Currency, &e.Booked, &tags, &meta); err != nil {
			return n, err
		}
		e.AmountStr = fmt.Sprintf("%d.%02d", cents/100, abs(cents%100))
		e.Tags = strings.Split(tags, ",")
		if len(meta) > 0 {
			if err := json.Unmarshal(meta, &e.Meta); err != nil {
				return n, fmt.Errorf("entry %d: meta: %w", e.ID, err)
			}
		}
		b, err := json.Marshal(e)
		if err != nil {
			return n, err
		}
		out += string(b) + "\n"
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	_, err = io.WriteString(w, out)
	return n, err
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
