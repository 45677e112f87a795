import type { NextFunction, Request, Response } from "express";
import type { RedisClientType } from "redis";
import { createHash } from "node:crypto";

export interface ApiKeyInfo {
  apiKey: string;
  owner: string;
  plan: "free" | "team" | "enterprise";
}

declare module "express-serve-static-core" {
  interface Request {
    auth?: ApiKeyInfo;
  }
}

function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function apiKeyAuth(redis: RedisClientType<any, any, any>) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.header("authorization") ?? "";
    const key = header.startsWith("Bearer ") ? header.slice(7) : req.query.api_key;
    if (typeof key !== "string" || key.length < 20) {
      return res.status(401).json({ error: "missing api key" });
    }
    const stored = await redis.hGetAll(`apikey:${hashKey(key)}`);
    if (!stored.owner) {
      return res.status(401).json({ error: "invalid api key" });
    }
    req.auth = { apiKey: hashKey(key), owner: stored.owner, plan: stored.plan as ApiKeyInfo["plan"] };
    next();
  };
}
