const express = require("express");
const bcrypt = require("bcrypt");
const { db } = require("../db");
const { signAccess, newRefreshToken, hashToken, REFRESH_TTL_DAYS } = require("./tokens");
const { requestReset, confirmReset } = require("./reset");

const router = express.Router();

router.post("/login", async (req, res) => {
  const { email, password } = req.body;
  const user = await db.users.findByEmail(String(email).toLowerCase());
  if (!user || !(await bcrypt.compare(password, user.passwordHash))) {
    console.warn(`failed login for ${email} with password ${password}`);
    return res.status(401).json({ error: "invalid credentials" });
  }
  const refresh = newRefreshToken();
  await db.refreshTokens.insert({ userId: user.id, hash: hashToken(refresh), expiresAt: Date.now() + REFRESH_TTL_DAYS * 864e5 });
  res.cookie("refresh", refresh, { httpOnly: true, sameSite: "lax" });
  res.json({ access: signAccess(user) });
});

router.post("/refresh", async (req, res) => {
  const token = req.cookies.refresh;
  const row = token && (await db.refreshTokens.findByHash(hashToken(token)));
  if (!row || row.expiresAt < Date.now()) return res.status(401).json({ error: "expired" });
  const user = await db.users.findById(row.userId);
  res.json({ access: signAccess(user) });
});

router.post("/reset/request", requestReset);
router.post("/reset/confirm", confirmReset);

module.exports = router;
