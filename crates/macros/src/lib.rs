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

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::{
    parse::Parser, punctuated::Punctuated, spanned::Spanned, Expr, ExprLit, ItemFn, Lit,
    MetaNameValue, Token,
};

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
