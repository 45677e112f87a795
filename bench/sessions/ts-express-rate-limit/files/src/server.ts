import express from "express";
import { createClient } from "redis";
import { apiKeyAuth } from "./middleware/auth";
import { searchRouter } from "./routes/search";
import { projectsRouter } from "./routes/projects";

export const RATE_LIMIT_DEFAULT = 100;

export async function buildApp() {
  const redis = createClient({ url: process.env.REDIS_URL ?? "redis://localhost:6379" });
  await redis.connect();

  const app = express();
  app.disable("x-powered-by");
  app.use(express.json({ limit: "1mb" }));

  app.get("/health", (_req, res) => {
    res.json({ ok: true, redis: redis.isReady });
  });

  app.use("/api", apiKeyAuth(redis));
  app.use("/api/search", searchRouter);
  app.use("/api/projects", projectsRouter);

  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    console.error(err);
    res.status(500).json({ error: "internal" });
  });
  return { app, redis };
}

if (require.main === module) {
  buildApp().then(({ app }) => {
    const port = Number(process.env.PORT ?? 8080);
    app.listen(port, () => console.log(`listening on ${port}`));
  });
}
