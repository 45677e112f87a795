use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use clap::Parser;
use tokio::net::TcpListener;
use tracing::{error, info};

mod handler;

use handler::{handle_conn, State};

#[derive(Parser, Debug)]
#[command(name = "kvd", about = "a tiny line-protocol key-value server")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    #[arg(long, default_value_t = 10_000)]
    max_keys: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let args = Args::parse();
    let state = Rc::new(RefCell::new(State::new(args.max_keys)));
    let listener = TcpListener::bind(args.listen).await?;
    info!("listening on {}", args.listen);
    serve(listener, state).await
}

async fn serve(listener: TcpListener, state: Rc<RefCell<State>>) -> anyhow::Result<()> {
    loop {
        let (sock, peer) = listener.accept().await?;
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = handle_conn(sock, state).await {
                error!(%peer, "connection error: {e:#}");
            }
        });
    }
}
