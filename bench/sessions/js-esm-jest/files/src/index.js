import { Octokit } from "@octokit/rest";
import { WebClient } from "@slack/web-api";
import semver from "semver";
import { formatNotes } from "./format.js";

const { GITHUB_TOKEN, SLACK_TOKEN, SLACK_CHANNEL = "#releases", REPO = "acme/shop" } = process.env;
const [owner, repo] = REPO.split("/");

const github = new Octokit({ auth: GITHUB_TOKEN });
const slack = new WebClient(SLACK_TOKEN);

async function latestTwoTags() {
  const { data } = await github.repos.listTags({ owner, repo, per_page: 50 });
  const tags = data.map((t) => t.name).filter((n) => semver.valid(n)).sort(semver.rcompare);
  return tags.slice(0, 2);
}

async function mergedPullsBetween(base, head) {
  const { data } = await github.repos.compareCommits({ owner, repo, base, head });
  const numbers = new Set();
  for (const c of data.commits) {
    const m = /\(#(\d+)\)$/.exec(c.commit.message.split("\n")[0]);
    if (m) numbers.add(Number(m[1]));
  }
  return Promise.all([...numbers].map((n) => github.pulls.get({ owner, repo, pull_number: n }).then((r) => r.data)));
}

async function main() {
  const [head, base] = await latestTwoTags();
  if (!base) {
    console.log("fewer than two tags, nothing to announce");
    return;
  }
  const pulls = await mergedPullsBetween(base, head);
  const text = formatNotes(head, pulls);
  await slack.chat.postMessage({ channel: SLACK_CHANNEL, text, mrkdwn: true });
  console.log(`posted ${pulls.length} changes for ${head}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
