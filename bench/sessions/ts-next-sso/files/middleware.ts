import { NextResponse, type NextRequest } from "next/server";
import { jwtVerify } from "jose";

const SECRET = new TextEncoder().encode(process.env.SESSION_SECRET);

export async function middleware(req: NextRequest) {
  const jwt = req.cookies.get("sid")?.value;
  if (jwt) {
    try {
      await jwtVerify(jwt, SECRET);
      return NextResponse.next();
    } catch {
      // fall through to the redirect
    }
  }
  const url = new URL("/login", req.url);
  url.searchParams.set("next", req.nextUrl.pathname);
  return NextResponse.redirect(url);
}

export const config = { matcher: ["/dashboard/:path*", "/settings/:path*"] };
