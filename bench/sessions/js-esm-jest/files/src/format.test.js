import { formatNotes, sectionOf } from "./format.js";

test("sectionOf reads the conventional prefix", () => {
  expect(sectionOf("feat(api): add thing")).toBe("feat");
  expect(sectionOf("fix!: breaking fix")).toBe("fix");
  expect(sectionOf("Update README")).toBe("other");
});

test("formatNotes groups by section and drops empty ones", () => {
  const text = formatNotes("v1.2.0", [
    { title: "feat: dark mode", number: 12, html_url: "https://x/12" },
    { title: "fix(cart): rounding", number: 13, html_url: "https://x/13" },
  ]);
  expect(text).toContain("_Features_");
  expect(text).toContain("• rounding (<https://x/13|#13>)");
  expect(text).not.toContain("_Performance_");
});

test("formatNotes starts with the version in bold", () => {
  expect(formatNotes("v2.0.0", []).split("\n")[0]).toBe("*v2.0.0*");
});
