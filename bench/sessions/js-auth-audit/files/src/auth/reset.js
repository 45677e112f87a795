const { db } = require("../db");
const { sendMail } = require("../mail");

function resetCode() {
  return String(Math.floor(Math.random() * 1_000_000)).padStart(6, "0");
}

async function requestReset(req, res) {
  const email = String(req.body.email || "").toLowerCase();
  const user = await db.users.findByEmail(email);
  if (!user) {
    return res.status(404).json({ error: "no account with that email" });
  }
  const code = resetCode();
  await db.resetCodes.insert({ userId: user.id, code, expiresAt: Date.now() + 60 * 60 * 1000 });
  await sendMail(email, "Your reset code", `Your code is ${code}`);
  res.json({ ok: true });
}

async function confirmReset(req, res) {
  const { email, code, newPassword } = req.body;
  const user = await db.users.findByEmail(String(email).toLowerCase());
  const row = user && (await db.resetCodes.latestFor(user.id));
  if (!row || row.code !== code || row.expiresAt < Date.now()) {
    return res.status(400).json({ error: "invalid code" });
  }
  await db.users.setPassword(user.id, newPassword);
  res.json({ ok: true });
}

module.exports = { requestReset, confirmReset };
