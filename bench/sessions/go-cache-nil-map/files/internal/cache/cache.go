// Package cache is a small TTL cache for rendered fragments, keyed by tenant and path.
package cache

import (
	"sync"
	"time"
)

type entry struct {
	value   []byte
	expires time.Time
}

type Cache struct {
	mu      sync.RWMutex
	tenants map[string]map[string]entry
	ttl     time.Duration
	hits    uint64
	misses  uint64
	now     func() time.Time
}

func New(ttl time.Duration) *Cache {
	return &Cache{tenants: make(map[string]map[string]entry), ttl: ttl, now: time.Now}
}

func (c *Cache) Get(tenant, key string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.tenants[tenant][key]
	if !ok || c.now().After(e.expires) {
		c.misses++
		return nil, false
	}
	c.hits++
	return e.value, true
}

func (c *Cache) Set(tenant, key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tenants[tenant][key] = entry{value: value, expires: c.now().Add(c.ttl)}
}

func (c *Cache) Purge(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tenants, tenant)
}

func (c *Cache) Stats() (hits, misses uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.hits, c.misses
}
