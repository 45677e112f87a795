"""Daily aggregation of the click log into per-campaign, per-country figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

COLUMNS = ["ts", "campaign_id", "country", "user_id", "event", "revenue_micros"]


def load(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, names=COLUMNS, header=None)
    df["ts"] = pd.to_datetime(df["ts"])
    return df


def classify_event(row: pd.Series) -> str:
    if row["event"] in ("click", "tap"):
        return "click"
    if row["event"].startswith("conv_"):
        return "conversion"
    return "other"


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    df["kind"] = df.apply(classify_event, axis=1)
    df["day"] = df["ts"].apply(lambda t: t.strftime("%Y-%m-%d"))
    out = []
    for (day, campaign, country), group in df.groupby(["day", "campaign_id", "country"]):
        clicks = len(group[group["kind"] == "click"])
        conversions = len(group[group["kind"] == "conversion"])
        users = len(set(group["user_id"]))
        revenue = group["revenue_micros"].sum() / 1_000_000
        out.append({
            "day": day,
            "campaign_id": campaign,
            "country": country,
            "clicks": clicks,
            "conversions": conversions,
            "unique_users": users,
            "revenue": round(revenue, 2),
            "cvr": conversions / clicks if clicks else 0.0,
        })
    return pd.DataFrame(out)


def main(argv: list[str]) -> int:
    src, dst = Path(argv[1]), Path(argv[2])
    df = load(src)
    result = aggregate(df)
    result.to_parquet(dst, index=False)
    print(f"{len(df)} events -> {len(result)} rows in {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
