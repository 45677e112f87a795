use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct State {
    map: HashMap<String, String>,
    max_keys: usize,
}

impl State {
    pub fn new(max_keys: usize) -> Self {
        State { map: HashMap::new(), max_keys }
    }

    fn apply(&mut self, line: &str) -> String {
        let mut parts = line.splitn(3, ' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("GET"), Some(k), None) => self.map.get(k).cloned().unwrap_or_else(|| "(nil)".into()),
            (Some("SET"), Some(k), Some(v)) => {
                if self.map.len() >= self.max_keys && !self.map.contains_key(k) {
                    return "ERR full".into();
                }
                self.map.insert(k.to_string(), v.to_string());
                "OK".into()
            }
            (Some("DEL"), Some(k), None) => if self.map.remove(k).is_some() { "1" } else { "0" }.into(),
            _ => "ERR syntax".into(),
        }
    }
}

pub async fn handle_conn(sock: TcpStream, state: Rc<RefCell<State>>) -> anyhow::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = state.borrow_mut().apply(line.trim());
        w.write_all(reply.as_bytes()).await?;
        w.write_all(b"\n").await?;
    }
    Ok(())
}
