//! The `select!`, `select_biased!` and `select_blocking!` macros: thin syntax over the
//! [`Select`](crate::Select) machinery (`select_async`, `select_blocking`, `select_try`).
//!
//! The expansion evaluates every case's channel and value expressions once, in written
//! order (Go's rule), into case values on the stack, runs the select over a tuple of them
//! (no allocation, and the future is `Send` exactly when the cases are), then runs the body
//! of the case that took effect as ordinary code of the enclosing function, so `.await`,
//! `?`, `return`, `break` and `continue` work in bodies.

/// Go's `select` for async code: waits until one of several channel operations can
/// proceed, performs exactly that one, and runs its arm.
///
/// ```text
/// goro_channel::select! {
///     recv(rx) -> v => ...,          // v: Result<T, RecvError>
///     send(tx, value) -> r => ...,   // r: Result<(), SendError<T>>
///     default => ...,                // optional: taken when no case is ready now
/// }
/// ```
///
/// * When several cases are ready, one is chosen uniformly at random
///   ([`select_biased!`](crate::select_biased!) checks them in written order).
/// * Exactly one case takes effect; values of the send cases that did not are dropped.
/// * A case on a closed channel is ready: a receive gets `Err(RecvError)`, a send gets
///   `Err(SendError(value))`.
/// * Channel and value expressions are evaluated once, on entry, in written order.
/// * Up to 32 cases; use [`Select`](crate::Select) for more, or for a number of cases
///   known only at run time.
/// * `default(timeout) => ...` needs a timer, which this runtime-agnostic crate does not
///   have: use `goro::select!` (which provides one), or add a receive on a timer channel.
///
/// # Errors at compile time
/// A malformed arm is a compile error that quotes the offending tokens and lists the
/// accepted forms, for example `select: unexpected \`recieve\`; accepted arms: ...`.
/// This `macro_rules!` macro can only report it at the whole `select!` call; the `goro`
/// facade's `goro::select!`, `select_biased!` and `select_blocking!` check the arms with a
/// procedural macro first and point at the offending tokens themselves:
///
/// ```compile_fail
/// # async fn f(rx: goro_channel::Receiver<u8>) {
/// goro_channel::select! {
///     recieve(rx) -> v => v,
/// }
/// # }
/// ```
///
/// ```compile_fail
/// # async fn f(rx: goro_channel::Receiver<u8>) {
/// goro_channel::select! {
///     recv(rx) => 1,          // missing `-> pattern`
/// }
/// # }
/// ```
///
/// # Cancel safety
/// Dropping the select future (for example when an enclosing `timeout` fires) loses no
/// value: a value that was handed to one of its receive cases goes back to its channel, and
/// a send case's value is delivered at most once.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx1, rx1) = goro_channel::bounded::<i32>(1);
/// let (tx2, rx2) = goro_channel::bounded::<&str>(1);
/// tx2.send("hello").await.unwrap();
/// let got = goro_channel::select! {
///     recv(rx1) -> v => format!("rx1: {:?}", v),
///     recv(rx2) -> v => format!("rx2: {}", v.unwrap()),
/// };
/// assert_eq!(got, "rx2: hello");
///
/// // `default` is taken when nothing is ready.
/// let none = goro_channel::select! {
///     recv(rx1) -> _ => false,
///     default => true,
/// };
/// assert!(none);
/// # drop(tx1);
/// # });
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_internal!(@start {future false []} $($tokens)*)
    };
}

/// Like [`select!`](crate::select!), but when several cases are ready the first one in
/// written order is taken.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = goro_channel::bounded(1);
/// tx.send(1).await.unwrap();
/// let (tx2, rx2) = goro_channel::bounded(1);
/// tx2.send(2).await.unwrap();
/// let first = goro_channel::select_biased! {
///     recv(rx) -> v => v.unwrap(),
///     recv(rx2) -> v => v.unwrap(),
/// };
/// assert_eq!(first, 1);
/// # });
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::__select_internal!(@start {future true []} $($tokens)*)
    };
}

/// [`select!`](crate::select!) for plain threads: blocks the thread instead of awaiting.
/// Also accepts `default(timeout) => ...`, taken when no case became ready within
/// `timeout` (a `Duration`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (tx, rx) = goro_channel::unbounded::<u32>();
/// let r = goro_channel::select_blocking! {
///     recv(rx) -> v => v.ok(),
///     send(tx, 1) -> _ => None,
///     default(Duration::from_millis(10)) => None,
/// };
/// // The send was ready (unbounded channel), the receive was not.
/// assert_eq!(r, None);
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
#[macro_export]
macro_rules! select_blocking {
    ($($tokens:tt)*) => {
        $crate::__select_internal!(@start {thread false []} $($tokens)*)
    };
}

/// Implementation of the select macros. `@start {MODE BIASED [TIMER]} arms...` where MODE
/// is `future` or `thread`, BIASED is `true` or `false`, and TIMER is empty or a path to
/// a function `fn(Duration) -> Receiver<_>` used for `default(timeout)` in async mode.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_internal {
    // ----- entry -----
    (@start $cfg:tt $($tokens:tt)*) => {
        $crate::__select_internal!(@parse $cfg [(0 __goro_case0) (1 __goro_case1) (2 __goro_case2) (3 __goro_case3) (4 __goro_case4) (5 __goro_case5) (6 __goro_case6) (7 __goro_case7) (8 __goro_case8) (9 __goro_case9) (10 __goro_case10) (11 __goro_case11) (12 __goro_case12) (13 __goro_case13) (14 __goro_case14) (15 __goro_case15) (16 __goro_case16) (17 __goro_case17) (18 __goro_case18) (19 __goro_case19) (20 __goro_case20) (21 __goro_case21) (22 __goro_case22) (23 __goro_case23) (24 __goro_case24) (25 __goro_case25) (26 __goro_case26) (27 __goro_case27) (28 __goro_case28) (29 __goro_case29) (30 __goro_case30) (31 __goro_case31)] [] [] $($tokens)*)
    };

    // ----- receive arms -----
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        recv($rx:expr) -> $p:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id recv ($rx) {$body} $p)] $def $($rest)*)
    };
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        recv($rx:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id recv ($rx) {$body} $p)] $def $($rest)*)
    };
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        recv($rx:expr) -> $p:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id recv ($rx) {$body} $p)] $def $($rest)*)
    };
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        recv($rx:expr) -> $p:pat => $body:expr) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id recv ($rx) {$body} $p)] $def)
    };

    // ----- send arms -----
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        send($tx:expr, $v:expr) -> $p:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id send ($tx, $v) {$body} $p)] $def $($rest)*)
    };
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        send($tx:expr, $v:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id send ($tx, $v) {$body} $p)] $def $($rest)*)
    };
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        send($tx:expr, $v:expr) -> $p:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id send ($tx, $v) {$body} $p)] $def $($rest)*)
    };
    (@parse $cfg:tt [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] $def:tt
        send($tx:expr, $v:expr) -> $p:pat => $body:expr) => {
        $crate::__select_internal!(@parse $cfg [$($ids)*] [$($cases)* ($n $id send ($tx, $v) {$body} $p)] $def)
    };

    // ----- default arms -----
    (@parse $cfg:tt $ids:tt $cases:tt [] default => $body:block, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [plain {$body}] $($rest)*)
    };
    (@parse $cfg:tt $ids:tt $cases:tt [] default => $body:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [plain {$body}] $($rest)*)
    };
    (@parse $cfg:tt $ids:tt $cases:tt [] default => $body:expr, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [plain {$body}] $($rest)*)
    };
    (@parse $cfg:tt $ids:tt $cases:tt [] default => $body:expr) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [plain {$body}])
    };
    (@parse $cfg:tt $ids:tt $cases:tt [] default($t:expr) => $body:block, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [timeout ($t) {$body}] $($rest)*)
    };
    (@parse $cfg:tt $ids:tt $cases:tt [] default($t:expr) => $body:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [timeout ($t) {$body}] $($rest)*)
    };
    (@parse $cfg:tt $ids:tt $cases:tt [] default($t:expr) => $body:expr, $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [timeout ($t) {$body}] $($rest)*)
    };
    (@parse $cfg:tt $ids:tt $cases:tt [] default($t:expr) => $body:expr) => {
        $crate::__select_internal!(@parse $cfg $ids $cases [timeout ($t) {$body}])
    };

    // ----- errors -----
    (@parse $cfg:tt $ids:tt $cases:tt [$($def:tt)+] default $($rest:tt)*) => {
        ::core::compile_error!("select: more than one `default` arm; a select has at most one")
    };
    (@parse $cfg:tt [] $cases:tt $def:tt recv $($rest:tt)*) => {
        ::core::compile_error!("select: more than 32 cases; use goro's `Select` builder for more")
    };
    (@parse $cfg:tt [] $cases:tt $def:tt send $($rest:tt)*) => {
        ::core::compile_error!("select: more than 32 cases; use goro's `Select` builder for more")
    };
    (@parse $cfg:tt $ids:tt $cases:tt $def:tt recv $args:tt $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select: malformed `recv` arm `recv", ::core::stringify!($args), " ...`: write `recv(receiver) -> pattern => body`; accepted arms: `recv(rx) -> v => body`, `send(tx, value) -> r => body`, `default => body`, `default(timeout) => body` (blocking, or with goro::select!), separated by commas as in `match` (optional after a block body)"
        ))
    };
    (@parse $cfg:tt $ids:tt $cases:tt $def:tt send $args:tt $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select: malformed `send` arm `send", ::core::stringify!($args), " ...`: write `send(sender, value) -> pattern => body`; accepted arms: `recv(rx) -> v => body`, `send(tx, value) -> r => body`, `default => body`, `default(timeout) => body` (blocking, or with goro::select!), separated by commas as in `match` (optional after a block body)"
        ))
    };
    (@parse $cfg:tt $ids:tt $cases:tt $def:tt default $($rest:tt)*) => {
        ::core::compile_error!("select: malformed `default` arm: write `default => body` or `default(timeout) => body`")
    };
    (@parse $cfg:tt $ids:tt $cases:tt $def:tt $first:tt $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select: unexpected `", ::core::stringify!($first), "`; accepted arms: `recv(rx) -> v => body`, `send(tx, value) -> r => body`, `default => body`, `default(timeout) => body` (blocking, or with goro::select!), separated by commas as in `match` (optional after a block body)"
        ))
    };

    // ----- end of input -----
    (@parse $cfg:tt $ids:tt $cases:tt $def:tt) => {
        $crate::__select_internal!(@emit $cfg $ids $cases $def)
    };

    // ----- expansion -----
    // async `default(timeout)` with a timer: a receive on the timer channel.
    (@emit {future $biased:tt [$($timer:tt)+]} [($n:tt $id:ident) $($ids:tt)*] [$($cases:tt)*] [timeout ($t:expr) $body:tt]) => {
        $crate::__select_internal!(@emit {future $biased [$($timer)+]} [$($ids)*] [$($cases)* ($n $id recv ($($timer)+($t)) $body _)] [])
    };
    (@emit {future $biased:tt []} $ids:tt $cases:tt [timeout $t:tt $body:tt]) => {
        ::core::compile_error!("select: `default(timeout)` in an async select needs a timer: use `goro::select!`, or add a case `recv(goro::time::after(timeout)) -> _ => ...`")
    };
    // no cases, no default: block forever, as Go's empty `select {}`.
    (@emit {future $biased:tt $timer:tt} $ids:tt [] []) => {
        {
            ::core::future::pending::<()>().await;
            ::core::unreachable!()
        }
    };
    (@emit {thread $biased:tt $timer:tt} $ids:tt [] []) => {
        loop {
            ::std::thread::park();
        }
    };
    // only a default.
    (@emit $cfg:tt $ids:tt [] [plain $body:tt]) => {
        $body
    };
    (@emit {thread $biased:tt $timer:tt} $ids:tt [] [timeout ($t:expr) $body:tt]) => {
        {
            ::std::thread::sleep($t);
            $body
        }
    };
    // cases and a plain default: try once.
    (@emit {$mode:ident $biased:tt $timer:tt} $ids:tt [$(($n:tt $id:ident $kind:ident $args:tt $body:tt $p:pat))+] [plain $def:tt]) => {
        {
            $( $crate::__select_internal!(@bind $id $kind $args); )+
            let mut __goro_cases = ($($id,)+);
            let __goro_index = $crate::__private::select_try(&mut __goro_cases, $biased);
            match __goro_index {
                $( ::core::option::Option::Some($n) => {
                    let $p = __goro_cases.$n.take_result();
                    $body
                } )+
                ::core::option::Option::Some(_) => ::core::unreachable!(),
                ::core::option::Option::None => $def,
            }
        }
    };
    // async, no default.
    (@emit {future $biased:tt $timer:tt} $ids:tt [$(($n:tt $id:ident $kind:ident $args:tt $body:tt $p:pat))+] []) => {
        {
            $( $crate::__select_internal!(@bind $id $kind $args); )+
            let mut __goro_select =
                ::core::pin::pin!($crate::__private::select_async(($($id,)+), $biased));
            let __goro_index = __goro_select.as_mut().await;
            match __goro_index {
                $( $n => {
                    let $p = __goro_select.as_mut().cases().$n.take_result();
                    $body
                } )+
                _ => ::core::unreachable!(),
            }
        }
    };
    // blocking, no default.
    (@emit {thread $biased:tt $timer:tt} $ids:tt [$(($n:tt $id:ident $kind:ident $args:tt $body:tt $p:pat))+] []) => {
        {
            $( $crate::__select_internal!(@bind $id $kind $args); )+
            let mut __goro_cases = ($($id,)+);
            let __goro_index = $crate::__private::select_blocking(&mut __goro_cases, $biased, ::core::option::Option::None);
            match __goro_index {
                $( ::core::option::Option::Some($n) => {
                    let $p = __goro_cases.$n.take_result();
                    $body
                } )+
                _ => ::core::unreachable!(),
            }
        }
    };
    // blocking with `default(timeout)`.
    (@emit {thread $biased:tt $timer:tt} $ids:tt [$(($n:tt $id:ident $kind:ident $args:tt $body:tt $p:pat))+] [timeout ($t:expr) $def:tt]) => {
        {
            $( $crate::__select_internal!(@bind $id $kind $args); )+
            let mut __goro_cases = ($($id,)+);
            let __goro_index = $crate::__private::select_blocking(
                &mut __goro_cases,
                $biased,
                ::std::time::Instant::now().checked_add($t),
            );
            match __goro_index {
                $( ::core::option::Option::Some($n) => {
                    let $p = __goro_cases.$n.take_result();
                    $body
                } )+
                ::core::option::Option::Some(_) => ::core::unreachable!(),
                ::core::option::Option::None => $def,
            }
        }
    };

    // ----- one case, evaluated in place (temporaries live to the end of the select) -----
    (@bind $id:ident recv ($rx:expr)) => {
        let $id = &$rx;
        let $id = $crate::__private::RecvCase::new($id);
    };
    (@bind $id:ident send ($tx:expr, $v:expr)) => {
        let $id = (&$tx, $v);
        let $id = $crate::__private::SendCase::new($id.0, $id.1);
    };
}
