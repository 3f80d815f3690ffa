//! `#[errand::job]`: turns an `async fn` into an errand job kind.
//!
//! ```ignore
//! #[errand::job(kind = "send_email", queue = "mail", max_attempts = 5, timeout = "30s")]
//! async fn send_email(input: Email, mailer: State<Mailer>) -> Result<(), MailError> { .. }
//!
//! // generated: a type `send_email` implementing `errand::Job`, with
//! // `send_email::job()` (register it on a worker), `send_email::enqueue(input)`
//! // (a typed EnqueueBuilder) and `send_email::KIND`.
//! ```
//!
//! Options: `kind` (default: the function's name), `queue`, `priority`,
//! `max_attempts`, `timeout` ("30s", "5m", "500ms"), `concurrency` (per worker
//! process) and `global_concurrency` (across the cluster).

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitInt, LitStr, Pat, ReturnType, Type};

#[derive(Default)]
struct Options {
    kind: Option<LitStr>,
    queue: Option<LitStr>,
    priority: Option<LitInt>,
    max_attempts: Option<LitInt>,
    timeout: Option<(LitStr, u64)>,
    concurrency: Option<LitInt>,
    global_concurrency: Option<LitInt>,
}

fn check_name(lit: &LitStr, what: &str, max: usize) -> syn::Result<()> {
    let value = lit.value();
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'));
    if value.is_empty() || value.len() > max || !ok_chars {
        return Err(syn::Error::new(
            lit.span(),
            format!("invalid {what} {value:?}: use 1 to {max} ASCII letters, digits or _ - . : /"),
        ));
    }
    Ok(())
}

fn positive(lit: &LitInt, what: &str) -> syn::Result<()> {
    let n: u64 = lit.base10_parse()?;
    if n == 0 {
        return Err(syn::Error::new(
            lit.span(),
            format!("{what} must be at least 1"),
        ));
    }
    Ok(())
}

impl Options {
    fn parse_meta(&mut self, meta: syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
        let name = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match name.as_str() {
            "kind" => {
                let lit: LitStr = meta.value()?.parse()?;
                check_name(&lit, "kind", 128)?;
                self.kind = Some(lit);
            }
            "queue" => {
                let lit: LitStr = meta.value()?.parse()?;
                check_name(&lit, "queue", 64)?;
                self.queue = Some(lit);
            }
            "priority" => {
                let lit: LitInt = meta.value()?.parse()?;
                lit.base10_parse::<i16>()?;
                self.priority = Some(lit);
            }
            "max_attempts" => {
                let lit: LitInt = meta.value()?.parse()?;
                lit.base10_parse::<u32>()?;
                positive(&lit, "max_attempts")?;
                self.max_attempts = Some(lit);
            }
            "timeout" => {
                let lit: LitStr = meta.value()?.parse()?;
                let duration = humantime::parse_duration(&lit.value()).map_err(|e| {
                    syn::Error::new(
                        lit.span(),
                        format!(
                            "invalid timeout {:?}: {e} (try \"30s\" or \"5m\")",
                            lit.value()
                        ),
                    )
                })?;
                let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
                if millis == 0 {
                    return Err(syn::Error::new(lit.span(), "timeout must be at least 1ms"));
                }
                self.timeout = Some((lit, millis));
            }
            "concurrency" => {
                let lit: LitInt = meta.value()?.parse()?;
                lit.base10_parse::<usize>()?;
                positive(&lit, "concurrency")?;
                self.concurrency = Some(lit);
            }
            "global_concurrency" => {
                let lit: LitInt = meta.value()?.parse()?;
                lit.base10_parse::<u32>()?;
                positive(&lit, "global_concurrency")?;
                self.global_concurrency = Some(lit);
            }
            _ => {
                return Err(meta.error(
                    "unknown job option: expected kind, queue, priority, max_attempts, timeout, concurrency or global_concurrency",
                ));
            }
        }
        Ok(())
    }
}

/// Turns an `async fn` into an errand job kind. See the crate docs.
#[proc_macro_attribute]
pub fn job(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| options.parse_meta(meta));
    if let Err(e) = syn::parse::Parser::parse(parser, attr) {
        return e.to_compile_error().into();
    }
    let function = match syn::parse::<ItemFn>(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    match expand(&options, &function) {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            // Keep the function so that the only errors shown are ours.
            let errors = e.to_compile_error();
            quote!(#function #errors).into()
        }
    }
}

enum Param {
    Input,
    Extracted(Box<Type>),
}

fn combine(errors: &mut Option<syn::Error>, e: syn::Error) {
    match errors {
        Some(all) => all.combine(e),
        None => *errors = Some(e),
    }
}

fn has_lifetime(ty: &Type) -> bool {
    match ty {
        Type::Reference(_) => true,
        Type::Path(p) => p.path.segments.iter().any(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().any(|arg| match arg {
                syn::GenericArgument::Lifetime(_) => true,
                syn::GenericArgument::Type(t) => has_lifetime(t),
                _ => false,
            }),
            _ => false,
        }),
        Type::Tuple(t) => t.elems.iter().any(has_lifetime),
        Type::Slice(_) | Type::TraitObject(_) | Type::ImplTrait(_) => true,
        _ => false,
    }
}

fn expand(options: &Options, function: &ItemFn) -> syn::Result<TokenStream2> {
    let sig = &function.sig;
    let mut errors: Option<syn::Error> = None;
    if sig.asyncness.is_none() {
        combine(
            &mut errors,
            syn::Error::new(sig.fn_token.span(), "a job must be an `async fn`"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        combine(
            &mut errors,
            syn::Error::new(
                sig.generics.span(),
                "a job function cannot be generic: the stored kind needs one concrete input type",
            ),
        );
    }
    if let Some(variadic) = &sig.variadic {
        combine(
            &mut errors,
            syn::Error::new(variadic.span(), "a job function cannot be variadic"),
        );
    }

    let mut params: Vec<Param> = Vec::new();
    let mut input_ty: Option<Box<Type>> = None;
    for arg in &sig.inputs {
        let typed = match arg {
            FnArg::Receiver(r) => {
                combine(
                    &mut errors,
                    syn::Error::new(
                        r.span(),
                        "a job is a free `async fn`, not a method: implement `errand::Job` on a struct for the handler form",
                    ),
                );
                continue;
            }
            FnArg::Typed(t) => t,
        };
        let name = match &*typed.pat {
            Pat::Ident(ident) => Some(ident.ident.to_string()),
            _ => None,
        };
        if has_lifetime(&typed.ty) {
            combine(
                &mut errors,
                syn::Error::new(
                    typed.ty.span(),
                    "job parameters must be owned types: borrowed data cannot outlive the enqueue; share values with `State<T>`",
                ),
            );
            continue;
        }
        if name.as_deref() == Some("input") {
            input_ty = Some(typed.ty.clone());
            params.push(Param::Input);
        } else {
            params.push(Param::Extracted(typed.ty.clone()));
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }

    let fn_name = &sig.ident;
    let vis = &function.vis;
    let kind = options
        .kind
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| fn_name.to_string());
    let kind_lit = LitStr::new(&kind, Span::call_site());
    let input_type: TokenStream2 = match &input_ty {
        Some(t) => quote!(#t),
        None => quote!(()),
    };
    let (output_type, output_span): (TokenStream2, Span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.ident.span()),
        ReturnType::Type(_, t) => (quote!(#t), t.span()),
    };
    // Spanned at the return type, so that a wrong one is reported there.
    let output_assoc =
        quote::quote_spanned!(output_span=> <#output_type as ::errand::IntoJobResult>::Output);
    let into_result = quote::quote_spanned!(output_span=> ::errand::IntoJobResult::into_job_result);

    let mut extract = Vec::new();
    let mut checks = Vec::new();
    let mut call_args = Vec::new();
    for (i, param) in params.iter().enumerate() {
        match param {
            Param::Input => call_args.push(quote!(input)),
            Param::Extracted(ty) => {
                let var = format_ident!("__errand_arg{}", i);
                extract.push(quote_spanned_ty(ty, &var));
                checks.push(quote!(<#ty as ::errand::FromContext>::check(states)?;));
                call_args.push(quote!(#var));
            }
        }
    }

    let queue = opt_tokens(
        options
            .queue
            .as_ref()
            .map(|q| quote!(::std::string::String::from(#q))),
    );
    let priority = opt_tokens(options.priority.as_ref().map(|p| quote!(#p)));
    let max_attempts = opt_tokens(options.max_attempts.as_ref().map(|m| quote!(#m)));
    let timeout = opt_tokens(
        options
            .timeout
            .as_ref()
            .map(|(_, ms)| quote!(::core::time::Duration::from_millis(#ms))),
    );
    let concurrency = opt_tokens(options.concurrency.as_ref().map(|c| quote!(#c)));
    let global = opt_tokens(options.global_concurrency.as_ref().map(|g| quote!(#g)));

    let (enqueue_sig, enqueue_input) = match &input_ty {
        Some(t) => (quote!(input: #t), quote!(input)),
        None => (quote!(), quote!(())),
    };
    let mod_doc = format!(
        "The `{kind}` job kind of [`{fn_name}()`](fn@{fn_name}): register it with `.register({fn_name}::job())`, enqueue with `{fn_name}::enqueue(..)`."
    );
    let enqueue_doc =
        format!("A `{kind}` job with this input, ready to send with `Client::enqueue`.");

    // A braced struct lives in the type namespace only, so it shares the
    // function's name; unlike a module it also works for jobs declared inside
    // a function body, where a module could not see the surrounding items.
    Ok(quote! {
        #function

        #[doc = #mod_doc]
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #fn_name {}

        impl #fn_name {
            /// The kind name stored with each job.
            #vis const KIND: &'static str = #kind_lit;

            /// The job kind, to register on a worker.
            #vis fn job() -> Self {
                Self {}
            }

            #[doc = #enqueue_doc]
            #vis fn enqueue(#enqueue_sig) -> ::errand::EnqueueBuilder<Self> {
                ::errand::EnqueueBuilder::new(#enqueue_input)
            }
        }

        impl ::errand::Job for #fn_name {
            const KIND: &'static str = #kind_lit;
            type Input = #input_type;
            type Output = #output_assoc;

            fn options() -> ::errand::JobOptions {
                ::errand::JobOptions {
                    queue: #queue,
                    priority: #priority,
                    max_attempts: #max_attempts,
                    timeout: #timeout,
                    backoff: ::core::option::Option::None,
                    concurrency: #concurrency,
                    global_concurrency: #global,
                }
            }

            fn check(&self, states: &::errand::StateMap) -> ::core::result::Result<(), ::std::string::String> {
                let _ = states;
                #(#checks)*
                ::core::result::Result::Ok(())
            }

            async fn run(
                &self,
                input: Self::Input,
                ctx: ::errand::JobContext,
            ) -> ::core::result::Result<Self::Output, ::errand::JobError> {
                let _ = &input;
                #(#extract)*
                #into_result(#fn_name(#(#call_args),*).await)
            }
        }
    })
}

fn quote_spanned_ty(ty: &Type, var: &proc_macro2::Ident) -> TokenStream2 {
    // Spanned at the parameter's type so that "FromContext is not implemented"
    // points at the offending parameter.
    quote::quote_spanned! {ty.span()=>
        let #var = <#ty as ::errand::FromContext>::from_context(&ctx)?;
    }
}

fn opt_tokens(value: Option<TokenStream2>) -> TokenStream2 {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}
