//! The runaway guard of `realtime_priority`: a real-time loop that never blocks is ended
//! by the kernel (RLIMIT_RTTIME: SIGXCPU, then SIGKILL), so it cannot starve the host.
//! The test re-runs itself as a child that raises itself exactly as vipd's loop does
//! (`vipd::realtime::raise`) and then spins. Needs CAP_SYS_NICE (CI runs as root).

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use vipd::realtime::{self, RTTIME_HARD, RTTIME_SOFT};

const CHILD: &str = "VIPD_TEST_SPINNING_CHILD";
const TEST: &str = "a_spinning_realtime_loop_is_stopped";
/// Exit codes of the child when it could not even start spinning as it should.
const NOT_RAISED: i32 = 3;
const HELPER_RAISED: i32 = 4;

#[test]
fn a_spinning_realtime_loop_is_stopped() {
    if std::env::var_os(CHILD).is_some() {
        spin();
    }
    let exe = std::env::current_exe().expect("test executable");
    let started = Instant::now();
    // No core file for the SIGXCPU.
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -c 0; exec \"$0\" \"$@\""])
        .arg(exe)
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .spawn()
        .expect("spawn the spinning child");
    let give_up = RTTIME_HARD + Duration::from_secs(10);
    let status: ExitStatus = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the spinning real-time child still ran after {give_up:?}: no guard");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    match status.code() {
        Some(NOT_RAISED) => panic!("the child could not enter SCHED_FIFO (CAP_SYS_NICE?)"),
        Some(HELPER_RAISED) => panic!("a thread started after raising was real-time too"),
        _ => {}
    }
    let signal = status.signal();
    assert!(
        signal == Some(nix::libc::SIGXCPU) || signal == Some(nix::libc::SIGKILL),
        "the child ended with {status:?}, not by SIGXCPU or SIGKILL"
    );
    // It spun for at least the soft limit of CPU time, and was stopped soon after the
    // hard one (start-up and the machine's other work account for the margin).
    assert!(
        took >= RTTIME_SOFT,
        "stopped after {took:?}, before the limit"
    );
    assert!(
        took <= RTTIME_HARD + Duration::from_secs(3),
        "stopped only after {took:?}"
    );
}

fn spin() -> ! {
    if realtime::raise(10).is_err() || realtime::current_fifo_priority() != Some(10) {
        std::process::exit(NOT_RAISED);
    }
    // A helper started now runs under the normal policy (SCHED_RESET_ON_FORK).
    let helper = std::thread::spawn(realtime::current_fifo_priority)
        .join()
        .expect("helper thread");
    if helper.is_some() {
        std::process::exit(HELPER_RAISED);
    }
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
