import { Router } from "express";
import { searchIndex } from "../search/index";

export const searchRouter = Router();

searchRouter.get("/", async (req, res, next) => {
  try {
    const q = String(req.query.q ?? "").trim();
    if (!q) return res.status(400).json({ error: "q is required" });
    const page = Math.max(1, Number(req.query.page ?? 1));
    const hits = await searchIndex.query(q, { owner: req.auth!.owner, page, perPage: 20 });
    res.json({ q, page, hits });
  } catch (err) {
    next(err);
  }
});

searchRouter.post("/reindex", async (req, res, next) => {
  try {
    if (req.auth!.plan === "free") return res.status(403).json({ error: "reindex needs a paid plan" });
    const job = await searchIndex.reindex(req.auth!.owner);
    res.status(202).json({ job });
  } catch (err) {
    next(err);
  }
});
