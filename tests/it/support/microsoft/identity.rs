//! The fake identity platform: `/{tenant}/oauth2/v2.0/devicecode`, `/token` (device code,
//! authorization code with PKCE, refresh token with rotation), `/authorize`, and the page at the
//! verification address where the person types the code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::{Request, Respond, ResponseTemplate};

use super::{Approval, CLIENT_ID, DeviceCode, REFRESH_PREFIX, State, user_code};
use crate::support::oauth::{form_of, pkce_matches, query_of, rand_token};

fn oauth_error(status: u16, error: &str, aadsts: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": error,
        "error_description": format!("{aadsts}\r\nTrace ID: 0d6f1a4e-7f3e-4a43-9d1c-1f8d0d2d7a00\r\nCorrelation ID: 9b3c1f0e-2f35-4c40-8f37-6b3a2c1d0e11\r\nTimestamp: 2026-12-01 10:00:00Z"),
        "error_codes": [aadsts.trim_start_matches("AADSTS").split(':').next().unwrap_or("0").parse::<u64>().unwrap_or(0)],
        "timestamp": "2026-12-01 10:00:00Z",
        "trace_id": "0d6f1a4e-7f3e-4a43-9d1c-1f8d0d2d7a00",
        "correlation_id": "9b3c1f0e-2f35-4c40-8f37-6b3a2c1d0e11"
    }))
}

fn tenant_of(req: &Request) -> String {
    req.url
        .path_segments()
        .and_then(|mut p| p.next())
        .unwrap_or_default()
        .to_string()
}

/// Scopes the identity platform would refuse to this app: anything that writes.
fn asks_to_write(scope: &str) -> bool {
    scope.split(' ').any(|s| s.contains("Write"))
}

pub(super) struct DeviceAuthorization(pub(super) Arc<Mutex<State>>);

impl Respond for DeviceAuthorization {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form_of(req);
        let mut s = self.0.lock().unwrap();
        s.tenants.push(tenant_of(req));
        s.last_device_request = form.clone().into_iter().collect();
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return oauth_error(
                400,
                "unauthorized_client",
                "AADSTS700016: Application with identifier was not found in the directory.",
            );
        }
        let scope = form.get("scope").cloned().unwrap_or_default();
        if scope.is_empty() || asks_to_write(&scope) {
            return oauth_error(
                400,
                "invalid_scope",
                "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
            );
        }
        let device_code = rand_token("DAQABIQEAAADW6jl31mB3T7ugrWTT8pFe", 120);
        let user = user_code();
        s.tokens.keep(&device_code);
        s.tokens.keep(&user);
        s.devices.insert(
            device_code.clone(),
            DeviceCode {
                user_code: user.clone(),
                scope,
                approval: Approval::Pending,
                issued: Instant::now(),
                last_poll: None,
            },
        );
        let uri = format!("{}/devicelogin", s.base);
        ResponseTemplate::new(200).set_body_json(json!({
            "user_code": user,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": s.device_expires_in.as_secs(),
            "interval": s.device_interval_secs,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user} to authenticate."),
        }))
    }
}

/// The page at `verification_uri`: the person types the code and approves or declines.
pub(super) struct DeviceLogin(pub(super) Arc<Mutex<State>>);

impl Respond for DeviceLogin {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form_of(req);
        let mut s = self.0.lock().unwrap();
        let code = form.get("otc").cloned().unwrap_or_default();
        let approve = form.get("decision").map(String::as_str) == Some("approve");
        let Some(d) = s
            .devices
            .values_mut()
            .find(|d| d.user_code == code && d.approval == Approval::Pending)
        else {
            return ResponseTemplate::new(400).set_body_string(
                "<html><body>That code didn't work. Check the code and try again.</body></html>",
            );
        };
        d.approval = if approve {
            Approval::Approved
        } else {
            Approval::Declined
        };
        ResponseTemplate::new(200).set_body_string(
            "<html><body>You have signed in to nextstep on your device. You may now close this window.</body></html>",
        )
    }
}

pub(super) struct Authorize(pub(super) Arc<Mutex<State>>);

impl Respond for Authorize {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: HashMap<_, _> = query_of(req).into_iter().collect();
        let mut s = self.0.lock().unwrap();
        s.tenants.push(tenant_of(req));
        s.last_auth_query = query_of(req);
        let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
        // Entra ignores the port of a loopback redirect, so `http://localhost` in the app
        // registration covers `http://localhost:<any port>/`.
        let ok = get("client_id") == CLIENT_ID
            && get("response_type") == "code"
            && get("code_challenge_method") == "S256"
            && !get("code_challenge").is_empty()
            && !get("state").is_empty()
            && get("scope").contains("Calendars.ReadBasic")
            && !asks_to_write(get("scope"))
            && get("redirect_uri").starts_with("http://localhost:");
        if !ok {
            return ResponseTemplate::new(400).set_body_string(
                "<html><body>AADSTS900144: The request is not valid for this application.</body></html>",
            );
        }
        let code = rand_token("0.AXkAwB3nR_", 80);
        let redirect = get("redirect_uri").to_string();
        s.codes.insert(
            code.clone(),
            (
                get("code_challenge").to_string(),
                redirect.clone(),
                get("scope").to_string(),
            ),
        );
        s.tokens.keep(&code);
        let mut loc = url::Url::parse(&redirect).unwrap();
        loc.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", get("state"))
            .append_pair("session_state", "6a1c8a4e-1d3b-4e53-9b0f-3f0e1c2d4b5a");
        ResponseTemplate::new(302).insert_header("Location", loc.as_str())
    }
}

pub(super) struct TokenEndpoint(pub(super) Arc<Mutex<State>>);

impl TokenEndpoint {
    /// New tokens for `scope`; a refresh token only when `offline_access` was granted.
    fn issue(s: &mut State, scope: &str) -> ResponseTemplate {
        let access = s.tokens.issue_access("eyJ0eXAiOiJKV1QiLCJub25jZSI6", 200);
        let mut body = json!({
            "token_type": "Bearer",
            "scope": scope.split(' ').filter(|x| *x != "offline_access")
                .map(|x| format!("https://graph.microsoft.com/{x}")).collect::<Vec<_>>().join(" "),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access,
        });
        if scope.split(' ').any(|x| x == "offline_access") {
            let refresh = s.tokens.issue_refresh(REFRESH_PREFIX, 300);
            body["refresh_token"] = json!(refresh);
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

impl Respond for TokenEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form_of(req);
        let mut s = self.0.lock().unwrap();
        s.tenants.push(tenant_of(req));
        let grant = form.get("grant_type").cloned().unwrap_or_default();
        s.token_grants.push(grant.clone());
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return oauth_error(
                400,
                "unauthorized_client",
                "AADSTS700016: Application with identifier was not found in the directory.",
            );
        }
        if form.contains_key("client_secret") || form.contains_key("client_assertion") {
            return oauth_error(
                401,
                "invalid_client",
                "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            );
        }
        match grant.as_str() {
            "urn:ietf:params:oauth:grant-type:device_code" => {
                let code = form.get("device_code").cloned().unwrap_or_default();
                let slow = std::mem::take(&mut s.slow_down_next_poll);
                let expires = s.device_code_dies_after.unwrap_or(s.device_expires_in);
                let interval = s.device_interval_secs;
                let Some(d) = s.devices.get_mut(&code) else {
                    return oauth_error(
                        400,
                        "bad_verification_code",
                        "AADSTS70019: Verification code expired or was not recognized.",
                    );
                };
                let now = Instant::now();
                if now.duration_since(d.issued) > expires {
                    return oauth_error(
                        400,
                        "expired_token",
                        "AADSTS70019: Verification code expired.",
                    );
                }
                // A poll earlier than the interval allows (with some slack for scheduling).
                let early = d.last_poll.is_some_and(|last| {
                    now.duration_since(last) < Duration::from_millis(interval * 800)
                });
                d.last_poll = Some(now);
                if slow || early {
                    return oauth_error(400, "slow_down", "AADSTS70016: Polling too fast.");
                }
                match d.approval {
                    Approval::Pending => oauth_error(
                        400,
                        "authorization_pending",
                        "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                    ),
                    Approval::Declined => oauth_error(
                        400,
                        "authorization_declined",
                        "AADSTS70000: The user declined the sign-in request.",
                    ),
                    Approval::Approved => {
                        let scope = d.scope.clone();
                        s.devices.remove(&code);
                        Self::issue(&mut s, &scope)
                    }
                }
            }
            "authorization_code" => {
                let code = form.get("code").cloned().unwrap_or_default();
                let Some((challenge, redirect, scope)) = s.codes.remove(&code) else {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS70000: The provided authorization code is invalid or has expired.",
                    );
                };
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                s.tokens.keep(&verifier);
                if !pkce_matches(&verifier, &challenge) {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                    );
                }
                if form.get("redirect_uri") != Some(&redirect) {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS70008: The redirect URI does not match the one of the authorization request.",
                    );
                }
                Self::issue(&mut s, &scope)
            }
            "refresh_token" => {
                let rt = form.get("refresh_token").cloned().unwrap_or_default();
                if !s.tokens.is_refresh(&rt) {
                    if s.tokens.secrets.contains(&rt) {
                        s.stale_refresh_attempts += 1;
                    }
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS70000: The provided grant has expired due to it being revoked.",
                    );
                }
                let scope = form.get("scope").cloned().unwrap_or_default();
                if asks_to_write(&scope) {
                    return oauth_error(
                        400,
                        "invalid_scope",
                        "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
                    );
                }
                // Rotation: the presented refresh token is spent.
                s.tokens.spend_refresh(&rt);
                let scope = if scope.is_empty() {
                    "offline_access Calendars.ReadBasic".to_string()
                } else {
                    scope
                };
                Self::issue(&mut s, &scope)
            }
            _ => oauth_error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            ),
        }
    }
}
