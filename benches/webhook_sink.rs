//! The webhook receiver of the outbox benchmark: reads each request to its end and answers 200,
//! keeping connections open, on one thread. A receiver lives outside casebridge; on the
//! benchmark's two cores it shares one with the API or its database, so it should take as little
//! of that core as it can (`tests/fault/webhook_receiver.py`, which also checks signatures and
//! logs, costs several times more per request).
//!
//!     cargo run --release --example webhook_sink -- PORT

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = match std::env::args().nth(1).map(|port| port.parse::<u16>()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: webhook_sink PORT");
            std::process::exit(2);
        }
    };
    HttpServer::new(|| App::new().default_service(web::to(|_body: web::Bytes| async { HttpResponse::Ok().finish() })))
        .workers(1)
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
