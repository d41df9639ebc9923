//! goro-macros: `#[goro::main]` and `#[goro::test]`.
//!
//! Both turn an `async fn` into a plain `fn` that runs the body to completion with
//! `goro::block_on` (on the global runtime), or, given `worker_threads = N`, on a runtime built
//! with `goro::runtime::Builder` for that call. Use them through the `goro` facade.
//!
//! ```ignore
//! #[goro::main]
//! async fn main() {
//!     let h = goro::spawn(async { 1 + 1 });
//!     assert_eq!(h.await.unwrap(), 2);
//! }
//!
//! #[goro::test(worker_threads = 2)]
//! async fn adds() {
//!     assert_eq!(goro::spawn(async { 2 }).await.unwrap(), 2);
//! }
//! ```

mod select;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::{
    parse::Parser, punctuated::Punctuated, spanned::Spanned, Expr, ExprLit, ItemFn, Lit,
    MetaNameValue, Token,
};

/// Checks the syntax of a `goro::select!`/`select_biased!`/`select_blocking!` and expands
/// it. Implementation detail of the `goro` facade's select macros; not public API.
#[doc(hidden)]
#[proc_macro]
pub fn __select(input: TokenStream) -> TokenStream {
    match select::expand(input.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Runs an `async fn main` on goro: the body becomes the main goroutine.
///
/// Arguments: `worker_threads = N` (an integer literal, at least 1) builds a dedicated runtime
/// with `N` workers instead of using the global one (whose size comes from `GORO_MAXPROCS`).
///
/// # Examples
///
/// ```ignore
/// #[goro::main]
/// async fn main() {
///     println!("{}", goro::spawn(async { "hello" }).await.unwrap());
/// }
/// ```
///
/// # Errors
///
/// A compile error, pointing at the offending tokens, if the function is not `async` or an
/// argument is unknown or malformed.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), false)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Runs an `async fn` test on goro (adds `#[test]`).
///
/// Arguments: `worker_threads = N`, as for [`main`](macro@main).
///
/// # Examples
///
/// ```ignore
/// #[goro::test]
/// async fn spawns() {
///     assert_eq!(goro::spawn(async { 3 }).await.unwrap(), 3);
/// }
/// ```
///
/// # Errors
///
/// As [`main`](macro@main).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), true)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

struct Config {
    worker_threads: Option<(u64, Span)>,
}

fn parse_args(args: TokenStream2) -> syn::Result<Config> {
    let metas = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    let mut config = Config {
        worker_threads: None,
    };
    for meta in metas {
        let Some(ident) = meta.path.get_ident() else {
            return Err(syn::Error::new_spanned(
                &meta.path,
                "unknown argument: expected `worker_threads = N`",
            ));
        };
        match ident.to_string().as_str() {
            "worker_threads" => {
                if config.worker_threads.is_some() {
                    return Err(syn::Error::new_spanned(
                        &meta.path,
                        "`worker_threads` given more than once",
                    ));
                }
                let n = match &meta.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(int), ..
                    }) => int.base10_parse::<u64>()?,
                    other => return Err(syn::Error::new_spanned(
                        other,
                        "`worker_threads` must be an integer literal, e.g. `worker_threads = 4`",
                    )),
                };
                if n == 0 {
                    return Err(syn::Error::new_spanned(
                        &meta.value,
                        "`worker_threads` must be at least 1",
                    ));
                }
                config.worker_threads = Some((n, meta.value.span()));
            }
            other => {
                return Err(syn::Error::new_spanned(
                    &meta.path,
                    format!("unknown argument `{other}`: expected `worker_threads = N`"),
                ))
            }
        }
    }
    Ok(config)
}

fn expand(args: TokenStream2, item: TokenStream2, is_test: bool) -> syn::Result<TokenStream2> {
    let config = parse_args(args)?;
    let mut func: ItemFn = syn::parse2(item)?;
    let which = if is_test { "test" } else { "main" };
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            format!("#[goro::{which}] needs an `async fn`: add the `async` keyword"),
        ));
    }
    if is_test && !func.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &func.sig.inputs,
            "#[goro::test] functions take no arguments",
        ));
    }
    if is_test {
        if let Some(attr) = func.attrs.iter().find(|a| a.path().is_ident("test")) {
            return Err(syn::Error::new_spanned(
                attr,
                "#[goro::test] already adds #[test]; remove this one",
            ));
        }
    }
    func.sig.asyncness = None;
    let body = &func.block;
    let body_span = body.span();
    let run = match config.worker_threads {
        None => quote_spanned! {body_span=>
            ::goro::block_on(async move #body)
        },
        Some((n, span)) => {
            let n = n as usize;
            let build = quote_spanned! {span=>
                ::goro::runtime::Builder::new()
                    .worker_threads(#n)
                    .build()
                    .expect("goro: failed to build the runtime")
            };
            quote_spanned! {body_span=>
                #build.block_on(async move #body)
            }
        }
    };
    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    let test_attr = if is_test {
        quote!(#[::core::prelude::v1::test])
    } else {
        quote!()
    };
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #run
        }
    })
}

#[cfg(test)]
mod tests {
    use super::expand;
    use quote::quote;

    fn ok(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream, test: bool) -> String {
        expand(args, item, test).unwrap().to_string()
    }

    fn err(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream, test: bool) -> String {
        expand(args, item, test).unwrap_err().to_string()
    }

    #[test]
    fn main_uses_the_global_runtime() {
        let out = ok(
            quote!(),
            quote!(
                async fn main() {
                    work().await
                }
            ),
            false,
        );
        assert!(out.contains(":: goro :: block_on"), "{out}");
        assert!(!out.contains("async fn"), "{out}");
        assert!(!out.contains("test"), "{out}");
    }

    #[test]
    fn worker_threads_builds_a_runtime() {
        let out = ok(
            quote!(worker_threads = 3),
            quote!(
                async fn main() -> Result<(), E> {
                    Ok(())
                }
            ),
            false,
        );
        assert!(
            out.contains(":: goro :: runtime :: Builder :: new ()"),
            "{out}"
        );
        assert!(out.contains("worker_threads (3usize)"), "{out}");
        assert!(out.contains("-> Result < () , E >"), "{out}");
    }

    #[test]
    fn test_adds_the_test_attribute_and_keeps_others() {
        let out = ok(
            quote!(),
            quote!(
                #[ignore = "kept as written"]
                async fn t() {}
            ),
            true,
        );
        assert!(
            out.starts_with("# [:: core :: prelude :: v1 :: test]"),
            "{out}"
        );
        assert!(out.contains("# [ignore = \"kept as written\"]"), "{out}");
    }

    #[test]
    fn non_async_fn_is_an_error() {
        let e = err(
            quote!(),
            quote!(
                fn main() {}
            ),
            false,
        );
        assert!(e.contains("needs an `async fn`"), "{e}");
    }

    #[test]
    fn unknown_argument_is_an_error() {
        let e = err(
            quote!(flavor = "x"),
            quote!(
                async fn main() {}
            ),
            false,
        );
        assert!(e.contains("unknown argument `flavor`"), "{e}");
    }

    #[test]
    fn bad_worker_threads_values_are_errors() {
        let e = err(
            quote!(worker_threads = 0),
            quote!(
                async fn main() {}
            ),
            false,
        );
        assert!(e.contains("at least 1"), "{e}");
        let e = err(
            quote!(worker_threads = "4"),
            quote!(
                async fn main() {}
            ),
            false,
        );
        assert!(e.contains("integer literal"), "{e}");
        let e = err(
            quote!(worker_threads = 1, worker_threads = 2),
            quote!(
                async fn main() {}
            ),
            false,
        );
        assert!(e.contains("more than once"), "{e}");
    }

    #[test]
    fn test_with_arguments_or_a_second_test_attribute_is_an_error() {
        let e = err(
            quote!(),
            quote!(
                async fn t(x: u8) {}
            ),
            true,
        );
        assert!(e.contains("take no arguments"), "{e}");
        let e = err(
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
            true,
        );
        assert!(e.contains("already adds #[test]"), "{e}");
    }
}
