//! `goro::select!`'s syntax check: parses the arms so that a malformed one is reported at
//! the offending tokens, with the accepted forms, and then hands the untouched tokens to
//! `goro::chan::__select_internal!`, which expands them (one expansion for every select
//! macro, checked or not).
//!
//! Input: `$crate; MODE BIASED; arms...` where MODE is `future` or `thread` and BIASED is
//! `true` or `false` (the facade's `macro_rules!` wrappers pass these).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{
    parenthesized,
    parse::{ParseStream, Parser},
    punctuated::Punctuated,
    Expr, Ident, Pat, Token,
};

/// The accepted arms, quoted in every error.
const FORMS: &str = "accepted arms: `recv(rx) -> v => body`, `send(tx, value) -> r => body`, \
                     `default => body`, `default(timeout) => body`, separated by commas as in \
                     `match` (optional after a block body)";

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let parser = |stream: ParseStream<'_>| {
        let krate: TokenStream = {
            let mut t = TokenStream::new();
            while !stream.peek(Token![;]) {
                let tt: proc_macro2::TokenTree = stream.parse()?;
                t.extend([tt]);
            }
            t
        };
        stream.parse::<Token![;]>()?;
        let mode: Ident = stream.parse()?;
        let biased: syn::LitBool = stream.parse()?;
        stream.parse::<Token![;]>()?;
        let arms: TokenStream = stream.parse()?;
        Ok((krate, mode, biased, arms))
    };
    let (krate, mode, biased, arms) = parser.parse2(input)?;
    check_arms.parse2(arms.clone())?;
    let timer = if mode == "future" {
        quote!(#krate::time::after)
    } else {
        TokenStream::new()
    };
    Ok(quote! {
        #krate::chan::__select_internal!(@start {#mode #biased [#timer]} #arms)
    })
}

/// Parses every arm; the first malformed one is the error.
fn check_arms(input: ParseStream<'_>) -> syn::Result<()> {
    let mut cases = 0usize;
    let mut default: Option<Span> = None;
    while !input.is_empty() {
        let kw: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), format!("select: expected an arm; {FORMS}")))?;
        match kw.to_string().as_str() {
            "recv" => {
                let args = parenthesized_args(input, &kw, 1, "recv(receiver)")?;
                let _ = args;
                arrow_pattern(input, &kw)?;
                cases += 1;
            }
            "send" => {
                parenthesized_args(input, &kw, 2, "send(sender, value)")?;
                arrow_pattern(input, &kw)?;
                cases += 1;
            }
            "default" => {
                if let Some(first) = default {
                    let mut e = syn::Error::new(
                        kw.span(),
                        "select: more than one `default` arm; a select has at most one",
                    );
                    e.combine(syn::Error::new(first, "the first `default` arm is here"));
                    return Err(e);
                }
                default = Some(kw.span());
                if input.peek(syn::token::Paren) {
                    parenthesized_args(input, &kw, 1, "default(timeout)")?;
                }
            }
            other => {
                return Err(syn::Error::new(
                    kw.span(),
                    format!("select: unexpected `{other}`; {FORMS}"),
                ))
            }
        }
        let arrow: Option<Token![=>]> = input.parse()?;
        if arrow.is_none() {
            return Err(syn::Error::new(
                input.span(),
                format!("select: expected `=>` and the arm's body after `{kw} ...`; {FORMS}"),
            ));
        }
        let body: Expr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("select: expected the body of the `{kw}` arm"),
            )
        })?;
        let is_block = matches!(&body, Expr::Block(b) if b.attrs.is_empty() && b.label.is_none());
        if input.is_empty() {
            break;
        }
        if input.parse::<Option<Token![,]>>()?.is_none() && !is_block {
            return Err(syn::Error::new(
                input.span(),
                format!("select: expected `,` after the body of the `{kw}` arm; {FORMS}"),
            ));
        }
    }
    if cases > 32 {
        return Err(syn::Error::new(
            Span::call_site(),
            "select: more than 32 cases; use goro's `Select` builder for more",
        ));
    }
    Ok(())
}

/// `( expr {, expr} )` with exactly `n` expressions.
fn parenthesized_args(
    input: ParseStream<'_>,
    kw: &Ident,
    n: usize,
    form: &str,
) -> syn::Result<Punctuated<Expr, Token![,]>> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            input.span(),
            format!("select: malformed `{kw}` arm: write `{form} -> pattern => body`; {FORMS}"),
        ));
    }
    let content;
    let parens = parenthesized!(content in input);
    let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("select: malformed `{kw}` arm: write `{form} -> pattern => body`; {FORMS}"),
        )
    })?;
    if args.len() != n || args.trailing_punct() {
        return Err(syn::Error::new(
            parens.span.join(),
            format!(
                "select: `{kw}` takes {n} argument{}: write `{form}`; {FORMS}",
                if n == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(args)
}

/// `-> pattern`.
fn arrow_pattern(input: ParseStream<'_>, kw: &Ident) -> syn::Result<()> {
    if input.parse::<Option<Token![->]>>()?.is_none() {
        return Err(syn::Error::new(
            input.span(),
            format!(
                "select: the `{kw}` arm needs `-> pattern` before `=>` (for example `{kw}(..) -> v => ...`); {FORMS}"
            ),
        ));
    }
    Pat::parse_multi_with_leading_vert(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("select: expected a pattern after `->` in the `{kw}` arm"),
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn err(arms: TokenStream) -> String {
        check_arms
            .parse2(arms)
            .expect_err("should be rejected")
            .to_string()
    }

    #[test]
    fn accepts_every_form() {
        let ok = quote! {
            recv(rx) -> v => v.unwrap(),
            recv(a[i].rx()) -> Ok(v) | Err(v) => { println!("{v}"); }
            send(tx, compute(1, 2)) -> r => r.is_ok(),
            send(tx, 5) -> _ => {}
            default(Duration::from_millis(5)) => None,
        };
        check_arms.parse2(ok).unwrap();
        check_arms.parse2(quote!(default => 1)).unwrap();
        check_arms.parse2(quote!()).unwrap();
    }

    #[test]
    fn errors_name_the_problem_and_the_forms() {
        assert!(err(quote!(recieve(rx) -> v => v)).contains("unexpected `recieve`"));
        assert!(err(quote!(recv(rx) => 1)).contains("needs `-> pattern`"));
        assert!(err(quote!(send(tx) -> r => r)).contains("`send` takes 2 arguments"));
        assert!(err(quote!(recv(a, b) -> v => v)).contains("`recv` takes 1 argument"));
        assert!(err(quote!(recv(rx) -> v => 1 recv(rx) -> w => 2)).contains("expected `,`"));
        assert!(err(quote!(default => 1, default => 2)).contains("more than one `default`"));
        assert!(err(quote!(recv(rx) -> v)).contains("expected `=>`"));
        for e in [
            err(quote!(recieve(rx) -> v => v)),
            err(quote!(recv(rx) => 1)),
        ] {
            assert!(e.contains("accepted arms"), "{e}");
        }
    }

    #[test]
    fn error_points_at_the_offending_token() {
        let arms: TokenStream = "recv(rx) -> v => v,\n  recieve(rx) -> w => w"
            .parse()
            .unwrap();
        let e = check_arms.parse2(arms).unwrap_err();
        // The span is the misspelt keyword on the second line, not the whole call.
        assert_eq!(e.span().start().line, 2);
        assert_eq!(e.span().start().column, 2);
    }

    #[test]
    fn expansion_hands_the_tokens_on() {
        let out = expand(quote!(::goro; future false; recv(rx) -> v => v))
            .unwrap()
            .to_string();
        assert!(out.contains("__select_internal"), "{out}");
        assert!(out.contains(":: goro :: time :: after"), "{out}");
        let out = expand(quote!(::goro; thread true; recv(rx) -> v => v))
            .unwrap()
            .to_string();
        assert!(!out.contains("after"), "{out}");
    }
}
