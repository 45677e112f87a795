import { useState } from "react";
import { filterProducts } from "../utils/filter";
import { formatPrice } from "../utils/money";

function ProductRow({ product, selected, onToggle }) {
  return (
    <li className={selected ? "row selected" : "row"} onClick={() => onToggle(product.id)}>
      <img src={product.thumbnailUrl} alt="" width={48} height={48} />
      <span className="name">{product.name}</span>
      <span className="brand">{product.brand}</span>
      <span className="price">{formatPrice(product.priceCents)}</span>
      {product.stock === 0 && <span className="badge">out of stock</span>}
    </li>
  );
}

export function ProductList({ products, categories }) {
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("");
  const [inStockOnly, setInStockOnly] = useState(false);
  const [selected, setSelected] = useState([]);

  const visible = filterProducts(products, { query, category, inStockOnly });

  const toggle = (id) =>
    setSelected((prev) => (prev.includes(id) ? prev.filter((x) => x !== id) : [...prev, id]));

  return (
    <div className="product-list">
      <div className="filters">
        <input placeholder="Search" value={query} onChange={(e) => setQuery(e.target.value)} />
        <select value={category} onChange={(e) => setCategory(e.target.value)}>
          <option value="">All categories</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <label>
          <input type="checkbox" checked={inStockOnly} onChange={(e) => setInStockOnly(e.target.checked)} />
          in stock only
        </label>
      </div>
      <p>{visible.length} products, {selected.length} selected</p>
      <ul>
        {visible.map((p, i) => (
          <ProductRow key={i} product={p} selected={selected.includes(p.id)} onToggle={toggle} />
        ))}
      </ul>
    </div>
  );
}
