//! Cognito's pre-token-generation trigger: the user's attributes in, our claims on the ID token
//! out (`ops::auth::pre_token_claims`), on every sign-in and refresh.
//!
//! The V1 event and answer (`claimsOverrideDetails.claimsToAddOrOverride`; template.yaml's
//! `LambdaConfig.PreTokenGeneration` runs V1_0): V1 customises the ID token, which is the token
//! our API takes, and works on every Cognito feature plan; V2 adds access-token claims we do not
//! use and needs the Essentials plan or above.

pub use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreTokenGen as PreTokenEvent;

use aws_lambda_events::event::cognito::ClaimsOverrideDetails;
use mas_domain::error::AppResult;
use mas_store::Store;

/// Answers the event with our claims added (Cognito takes the whole event back). An error makes
/// Cognito refuse the sign-in.
pub async fn handle(store: &Store, mut event: PreTokenEvent) -> AppResult<PreTokenEvent> {
    let claims = mas_usecases::auth::pre_token_claims(store, &event.request.user_attributes).await?;
    let mut details = ClaimsOverrideDetails::default();
    details.claims_to_add_or_override = claims.into_iter().collect();
    event.response.claims_override_details = Some(details);
    Ok(event)
}
