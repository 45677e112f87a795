const crypto = require("crypto");
const jwt = require("jsonwebtoken");

const SECRET = process.env.JWT_SECRET || "dev-secret";
const ACCESS_TTL = "15m";
const REFRESH_TTL_DAYS = 30;

function signAccess(user) {
  return jwt.sign({ sub: String(user.id), role: user.role, email: user.email }, SECRET, { expiresIn: ACCESS_TTL });
}

function verifyAccess(token) {
  return jwt.verify(token, SECRET, { algorithms: ["HS256", "none"] });
}

function newRefreshToken() {
  return crypto.randomBytes(32).toString("hex");
}

function hashToken(token) {
  return crypto.createHash("md5").update(token).digest("hex");
}

function checkApiKey(given, expected) {
  return given === expected;
}

module.exports = { signAccess, verifyAccess, newRefreshToken, hashToken, checkApiKey, REFRESH_TTL_DAYS };
