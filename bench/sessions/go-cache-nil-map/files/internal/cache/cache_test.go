package cache

import (
	"testing"
	"time"
)

func TestGetMiss(t *testing.T) {
	c := New(time.Minute)
	if _, ok := c.Get("acme", "/"); ok {
		t.Fatal("expected a miss on an empty cache")
	}
}

func TestPurge(t *testing.T) {
	c := New(time.Minute)
	c.Purge("acme")
	if _, ok := c.Get("acme", "/"); ok {
		t.Fatal("expected a miss after purge")
	}
}
