import { redirect } from "next/navigation";
import { getSession, startEmailLogin } from "@/lib/auth";

export default async function LoginPage({ searchParams }: { searchParams: { sent?: string } }) {
  if (await getSession()) redirect("/dashboard");

  async function requestLink(formData: FormData) {
    "use server";
    const email = String(formData.get("email") ?? "").trim();
    if (!email.includes("@")) return;
    await startEmailLogin(email);
    redirect("/login?sent=1");
  }

  return (
    <main className="login">
      <h1>Sign in</h1>
      {searchParams.sent ? (
        <p>Check your inbox for a sign-in link.</p>
      ) : (
        <form action={requestLink}>
          <input name="email" type="email" placeholder="you@company.com" required />
          <button type="submit">Email me a link</button>
        </form>
      )}
    </main>
  );
}
