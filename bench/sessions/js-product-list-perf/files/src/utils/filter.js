import { distance } from "fastest-levenshtein";

export function normalize(s) {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}

export function matches(product, query) {
  if (!query) return true;
  const q = normalize(query);
  const haystack = normalize(`${product.name} ${product.brand} ${product.tags.join(" ")}`);
  if (haystack.includes(q)) return true;
  return haystack.split(/\s+/).some((word) => distance(word, q) <= 1);
}

export function filterProducts(products, { query, category, inStockOnly }) {
  return products
    .filter((p) => !category || p.category === category)
    .filter((p) => !inStockOnly || p.stock > 0)
    .filter((p) => matches(p, query))
    .sort((a, b) => a.name.localeCompare(b.name));
}
