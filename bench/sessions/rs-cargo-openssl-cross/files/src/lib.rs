use std::time::Duration;

use anyhow::{Context, Result};
use feed_rs::model::Feed;
use rusqlite::{params, Connection};

pub struct Archive {
    conn: Connection,
}

impl Archive {
    pub fn open(path: &str) -> Result<Self> {
        let conn = Connection::open(path).with_context(|| format!("opening {path}"))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS items (
                feed TEXT NOT NULL, id TEXT NOT NULL, title TEXT, link TEXT, published INTEGER,
                PRIMARY KEY (feed, id))",
        )?;
        Ok(Archive { conn })
    }

    pub fn store(&self, feed_url: &str, feed: &Feed) -> Result<usize> {
        let mut added = 0;
        let mut stmt = self.conn.prepare(
            "INSERT OR IGNORE INTO items (feed, id, title, link, published) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for entry in &feed.entries {
            let title = entry.title.as_ref().map(|t| t.content.clone());
            let link = entry.links.first().map(|l| l.href.clone());
            let published = entry.published.map(|d| d.timestamp());
            added += stmt.execute(params![feed_url, entry.id, title, link, published])?;
        }
        Ok(added)
    }
}

pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<Feed> {
    let body = client
        .get(url)
        .timeout(Duration::from_secs(20))
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    feed_rs::parser::parse(&body[..]).with_context(|| format!("parsing {url}: recieved an invalid feed"))
}
