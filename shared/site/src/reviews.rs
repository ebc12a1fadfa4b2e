//! Reviews on the site: the home page's section of published reviews with the clinic's
//! schema.org markup (a `MedicalBusiness` with its `aggregateRating` and `review` entries, as
//! JSON-LD), and the page a review link opens (`review.html`, posted by `review.js`). Every text
//! a client or the clinic wrote is escaped, in the HTML and in the JSON-LD alike (`</script>` in
//! a review cannot end the script element).

use serde_json::{Value, json};

use super::{escape, script_json};
use crate::public::{PublicCatalog, PublicReview};

fn stars(rating: u8) -> String {
    let full = usize::from(rating.min(5));
    format!("{}{}", "★".repeat(full), "☆".repeat(5 - full))
}

/// Text with its line breaks kept, escaped.
fn paragraphs(text: &str) -> String {
    escape(text).replace('\n', "<br>")
}

fn card(catalog: &PublicCatalog, review: &PublicReview) -> String {
    let reply = review
        .reply
        .as_ref()
        .map(|r| {
            format!(
                r#"<p class="reply"><strong>Reply from {}:</strong> {}</p>"#,
                escape(catalog.clinic.name.as_str()),
                paragraphs(r)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<li class="card review"><p class="stars" role="img" aria-label="{rating} out of 5 stars">{stars}</p><blockquote><p>{body}</p></blockquote><p class="meta">{author} · {service} · <time datetime="{date}">{day}</time></p>{reply}</li>"#,
        rating = review.rating,
        stars = stars(review.rating),
        body = paragraphs(&review.body),
        author = escape(&review.author),
        service = escape(&review.service),
        date = review.date_published,
        day = review.date_published.format("%-d %B %Y"),
    )
}

/// The home page's reviews section and its JSON-LD; nothing when none is published.
pub fn section(catalog: &PublicCatalog) -> String {
    let reviews = &catalog.reviews;
    let Some(value) = reviews.rating_value.filter(|_| reviews.review_count > 0) else { return String::new() };
    let cards = reviews.items.iter().map(|r| card(catalog, r)).collect::<String>();
    let count = reviews.review_count;
    format!(
        r#"<section class="band" id="reviews" aria-labelledby="reviews-title"><div class="wrap">
<h2 id="reviews-title">What our clients say</h2>
<p class="rating-summary"><span aria-hidden="true">{stars}</span> Rated {value:.1} out of 5 from {count} review{s}</p>
<ul class="grid">{cards}</ul>
</div></section>
<script type="application/ld+json">{ld}</script>"#,
        stars = stars(value.round() as u8),
        s = if count == 1 { "" } else { "s" },
        ld = script_json(&json_ld(catalog)),
    )
}

/// The clinic as schema.org sees it, with its rating and reviews.
pub fn json_ld(catalog: &PublicCatalog) -> Value {
    let reviews = &catalog.reviews;
    let mut business = json!({
        "@context": "https://schema.org",
        "@type": "MedicalBusiness",
        "name": catalog.clinic.name.as_str(),
    });
    if let Some(location) = catalog.locations.first() {
        let a = &location.address;
        business["address"] = json!({
            "@type": "PostalAddress",
            "streetAddress": a.line1.as_str(),
            "addressLocality": a.city.as_str(),
            "postalCode": a.postcode.as_str(),
        });
        if let Some(phone) = &location.phone {
            business["telephone"] = json!(phone.as_str());
        }
    }
    if let Some(value) = reviews.rating_value {
        business["aggregateRating"] = json!({
            "@type": "AggregateRating",
            "ratingValue": value,
            "reviewCount": reviews.review_count,
            "bestRating": 5,
            "worstRating": 1,
        });
        business["review"] = reviews
            .items
            .iter()
            .map(|r| {
                json!({
                    "@type": "Review",
                    "author": { "@type": "Person", "name": r.author },
                    "reviewRating": { "@type": "Rating", "ratingValue": r.rating, "bestRating": 5, "worstRating": 1 },
                    "reviewBody": r.body,
                    "datePublished": r.date_published.to_string(),
                })
            })
            .collect();
    }
    business
}

/// The body of `review.html`: a rating, a few words and the name to show, for the visit its link
/// names (`#review=` in the address: the token never reaches a server log).
pub fn page_body(catalog: &PublicCatalog) -> String {
    let radios = (1..=5)
        .rev()
        .map(|n| {
            format!(
                r#"<div class="field check"><input id="rv-{n}" type="radio" name="rating" value="{n}" required><label for="rv-{n}">{stars} <span class="note">({n} out of 5)</span></label></div>"#,
                stars = stars(n),
            )
        })
        .collect::<String>();
    format!(
        r##"<div class="wrap page narrow">
<h1>Review your visit</h1>
<p id="rv-status" class="status" role="status" aria-live="polite"></p>
<form id="form-review" novalidate>
<p>Thank you for visiting {clinic}. Tell others how it went: {clinic} reads every review before it appears on this site.</p>
<fieldset class="choices"><legend>Your rating</legend>{radios}</fieldset>
<div class="field"><label for="rv-text">Your review</label><textarea id="rv-text" name="text" rows="6" maxlength="2000" required></textarea></div>
<div class="field"><label for="rv-name">Show my review as <span class="note">(optional: your first name and initial if left empty; not your full name or email)</span></label><input id="rv-name" name="display_name" maxlength="40" autocomplete="off"></div>
<div class="error" id="review-error" tabindex="-1" hidden></div>
<p class="actions"><button type="submit" class="button">Send my review</button></p>
</form>
<p id="rv-nolink" hidden>This page opens from the link in our email or text. Please use that link.</p>
<noscript><p>Sending a review needs JavaScript.</p></noscript>
</div>"##,
        clinic = escape(catalog.clinic.name.as_str()),
    )
}
