import { cookies } from "next/headers";
import { SignJWT, jwtVerify } from "jose";
import { db } from "./db";
import { sendMagicLink } from "./mail";

const SECRET = new TextEncoder().encode(process.env.SESSION_SECRET);
const SESSION_COOKIE = "sid";
const SESSION_TTL_S = 60 * 60 * 24 * 14;

export interface Session {
  userId: string;
  email: string;
  orgId: string | null;
}

export async function startEmailLogin(email: string): Promise<void> {
  const token = crypto.randomUUID();
  await db.loginToken.create({ data: { token, email, expiresAt: new Date(Date.now() + 15 * 60_000) } });
  await sendMagicLink(email, `${process.env.APP_URL}/login/verify?token=${token}`);
}

export async function finishEmailLogin(token: string): Promise<Session | null> {
  const row = await db.loginToken.findUnique({ where: { token } });
  if (!row || row.expiresAt < new Date()) return null;
  await db.loginToken.delete({ where: { token } });
  const user = await db.user.upsert({ where: { email: row.email }, create: { email: row.email }, update: {} });
  const session: Session = { userId: user.id, email: user.email, orgId: user.orgId };
  const jwt = await new SignJWT({ ...session })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime(`${SESSION_TTL_S}s`)
    .sign(SECRET);
  cookies().set(SESSION_COOKIE, jwt, { httpOnly: true, secure: true, sameSite: "lax", maxAge: SESSION_TTL_S });
  return session;
}

export async function getSession(): Promise<Session | null> {
  const jwt = cookies().get(SESSION_COOKIE)?.value;
  if (!jwt) return null;
  try {
    const { payload } = await jwtVerify(jwt, SECRET);
    return payload as unknown as Session;
  } catch {
    return null;
  }
}

export function logout(): void {
  cookies().delete(SESSION_COOKIE);
}
