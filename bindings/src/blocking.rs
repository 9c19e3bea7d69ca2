//! Long calls as `async` exports (Kotlin `suspend`, Swift `async`): the core's
//! blocking work runs on a thread of its own, and the foreign caller awaits
//! its result without holding a thread of theirs.
//!
//! Why a thread and not an async runtime: the core's sync client is blocking
//! (reqwest's blocking client, SQLite), and making it async would change every
//! caller for no gain on a phone that runs one sync at a time. A thread per
//! long call costs microseconds against seconds of network.
//!
//! Cancellation: when the Kotlin coroutine is cancelled, uniffi drops the Rust
//! future; dropping it raises the call's [`Cancel`] flag, which the core checks
//! at its boundaries (between sync rounds, photo chunks, thumbnails, and while
//! waiting to retry). The work then stops there, with every round it began
//! committed or never started. The coroutine does not wait for it: the
//! thread finishes its round on its own, and the store's sync lock makes the
//! next sync wait for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use wangge_core::Cancel;

use crate::error::{Result, WanggeError};

/// Where the thread leaves its result and finds whom to wake.
struct Slot<T> {
    result: Option<Result<T>>,
    waker: Option<Waker>,
}

/// The future of a call running on its thread.
struct Handoff<T> {
    slot: Arc<Mutex<Slot<T>>>,
    /// Raised when the future is dropped before the result was taken.
    cancel: Option<Cancel>,
}

impl<T> Future for Handoff<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.result.take() {
            Some(result) => {
                drop(slot);
                self.cancel = None;
                Poll::Ready(result)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Handoff<T> {
    fn drop(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel.cancel();
        }
    }
}

/// Runs `work` on a new thread named `wangge-<what>` and awaits its result.
/// `work` receives `cancel`, raised if the awaiting future is dropped (the
/// coroutine was cancelled). A panic in `work` is answered as an error
/// instead of leaving the caller waiting forever.
pub(crate) async fn run<T, F>(what: &'static str, cancel: Cancel, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(Cancel) -> Result<T> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let theirs = slot.clone();
    let flag = cancel.clone();
    std::thread::Builder::new()
        .name(format!("wangge-{what}"))
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(flag)))
                .unwrap_or_else(|_| {
                    Err(WanggeError::Other(format!(
                        "the {what} call failed inside the library (a bug); nothing was lost: try again, and report it if it repeats"
                    )))
                });
            let mut slot = theirs.lock().unwrap_or_else(|p| p.into_inner());
            slot.result = Some(result);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        })
        .map_err(|e| {
            WanggeError::Other(format!(
                "cannot start a thread for the {what} call ({e}); the phone is short of resources: try again later"
            ))
        })?;
    Handoff {
        slot,
        cancel: Some(cancel),
    }
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::task::Wake;

    /// A waker that tells a channel it was woken.
    struct Notify(Mutex<mpsc::Sender<()>>);

    impl Wake for Notify {
        fn wake(self: Arc<Self>) {
            let _ = self.0.lock().unwrap().send(());
        }
    }

    /// Polls `fut` to completion on this thread.
    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        let (tx, rx) = mpsc::channel();
        let waker = Waker::from(Arc::new(Notify(Mutex::new(tx))));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            rx.recv().unwrap();
        }
    }

    #[test]
    fn the_result_of_the_thread_is_awaited_and_a_panic_is_an_error() {
        let name = block_on(run("test", Cancel::new(), |_| {
            Ok(std::thread::current().name().map(str::to_owned))
        }))
        .unwrap();
        assert_eq!(name.as_deref(), Some("wangge-test"));
        let err = block_on(run::<(), _>("test", Cancel::new(), |_| panic!("boom"))).unwrap_err();
        assert!(err.to_string().contains("inside the library"), "{err}");
    }

    #[test]
    fn dropping_the_future_raises_the_flag_the_work_sees() {
        let (started_tx, started_rx) = mpsc::channel();
        let (seen_tx, seen_rx) = mpsc::channel();
        let cancel = Cancel::new();
        let fut = run("test", cancel.clone(), move |flag| {
            started_tx.send(()).unwrap();
            // The work's boundary: wait until the flag is raised.
            while flag.sleep(std::time::Duration::from_secs(3600)).is_ok() {}
            seen_tx.send(flag.is_cancelled()).unwrap();
            Ok(())
        });
        let mut fut = Box::pin(fut);
        let waker = Waker::from(Arc::new(Notify(Mutex::new(mpsc::channel().0))));
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        started_rx.recv().unwrap();
        drop(fut);
        assert!(seen_rx.recv().unwrap(), "the work saw the flag raised");
        assert!(cancel.is_cancelled());
    }
}
