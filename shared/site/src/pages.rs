//! The HTML of each page: one layout (skip link, header, main, footer) around each page's body.

use std::fmt::Write;

use super::{SiteOptions, escape};
use crate::public::{PublicCatalog, PublicLocation, PublicService};
use mas_domain::values::Money;

/// The seven yes/no screening questions, by their `MedicalAnswers` field.
pub const SCREENING_QUESTIONS: [(&str, &str); 7] = [
    ("pregnant_or_breastfeeding", "Are you pregnant or breastfeeding?"),
    ("anticoagulants", "Do you take blood thinners (for example warfarin or daily aspirin)?"),
    ("bleeding_disorder", "Do you have a bleeding or clotting disorder?"),
    ("lidocaine_allergy", "Are you allergic to lidocaine or other local anaesthetics?"),
    ("isotretinoin_last_6_months", "Have you taken isotretinoin (Roaccutane) in the last six months?"),
    ("active_skin_infection_at_site", "Do you have a skin infection (such as a cold sore) where you would be treated?"),
    ("autoimmune_disease", "Do you have an autoimmune condition?"),
];

struct Page<'a> {
    title: String,
    description: Option<String>,
    /// Which nav entry is the current page.
    current: &'a str,
    body: String,
    /// The script this page loads, if any.
    script: Option<&'static str>,
    /// From this page to the site root: `""`, or `"../"` for a page in a folder (`portal/`).
    root: &'static str,
}

fn layout(catalog: &PublicCatalog, options: &SiteOptions, page: Page) -> String {
    let clinic = escape(catalog.clinic.name.as_str());
    let description = page
        .description
        .or_else(|| catalog.brand.seo.description.as_ref().map(|d| d.as_str().to_owned()))
        .unwrap_or_else(|| format!("Book treatments at {}", catalog.clinic.name.as_str()));
    let brand = match &catalog.brand.logo_url {
        Some(url) => format!(r#"<img src="{}" alt="{clinic}" height="40">"#, escape(&String::from(url.clone()))),
        None => clinic.clone(),
    };
    let root = page.root;
    let nav = [
        ("index.html", "Home"),
        ("services.html", "Treatments"),
        ("index.html#visit", "Visit us"),
        ("gift-cards.html", "Gift cards"),
        ("portal/", "My bookings"),
    ]
    .iter()
    .map(|(href, label)| {
        let current = if *href == page.current { r#" aria-current="page""# } else { "" };
        format!(r#"<li><a href="{root}{href}"{current}>{label}</a></li>"#)
    })
    .collect::<String>();
    let book_current = if page.current == "book.html" { r#" aria-current="page""# } else { "" };
    let script = page.script.map(|s| format!(r#"<script src="{root}{s}" defer></script>"#)).unwrap_or_default();
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta name="description" content="{description}">
<link rel="stylesheet" href="{root}site.css">
{script}
</head>
<body data-slug="{slug}" data-api="{api}">
<a class="skip" href="#main">Skip to content</a>
<header class="site-header">
<div class="wrap bar">
<a class="brand" href="{root}index.html">{brand}</a>
<nav aria-label="Main"><ul>{nav}<li><a class="button small" href="{root}book.html"{book_current}>Book now</a></li></ul></nav>
</div>
</header>
<main id="main" tabindex="-1">
{body}
</main>
<footer class="site-footer">
<div class="wrap">
<p>&copy; {clinic}</p>{legal}
<nav aria-label="Legal"><ul><li><a href="{root}privacy.html">Privacy</a></li><li><a href="{root}terms.html">Terms</a></li></ul></nav>
</div>
</footer>
</body>
</html>
"##,
        title = escape(&page.title),
        description = escape(&description),
        slug = escape(catalog.clinic.slug.as_str()),
        api = escape(&options.api_base),
        body = page.body,
        legal = legal_lines(catalog),
    )
}

/// The clinic's legal name and numbers under its name, one paragraph each (none when unset).
fn legal_lines(catalog: &PublicCatalog) -> String {
    let lines = catalog.brand.business.lines(catalog.clinic.name.as_str());
    lines.iter().map(|line| format!("\n<p class=\"legal\">{}</p>", escape(line))).collect()
}

/// The file a service's page is written to.
pub fn service_file(service: &PublicService) -> String {
    match &service.slug {
        Some(slug) => format!("service-{}.html", slug.as_str()),
        None => format!("service-{}.html", service.id),
    }
}

pub fn money(m: &Money) -> String {
    let minor: i64 = m.amount_minor.into();
    if minor == 0 {
        return "Free".into();
    }
    let symbol = match m.currency.as_str() {
        "GBP" => "£",
        "EUR" => "€",
        "USD" | "AUD" | "NZD" | "CAD" => "$",
        other => return format!("{other} {}", major(minor)),
    };
    format!("{symbol}{}", major(minor))
}

fn major(minor: i64) -> String {
    if minor % 100 == 0 { format!("{}", minor / 100) } else { format!("{}.{:02}", minor / 100, minor % 100) }
}

fn title_case(raw: &str) -> String {
    let mut out = String::new();
    for (i, word) in raw.split(['-', '_']).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

fn service_card(service: &PublicService) -> String {
    let description = service.description.as_str();
    let description = if description.is_empty() { String::new() } else { format!("<p>{}</p>", escape(description)) };
    format!(
        r#"<li class="card"><h3><a href="{page}">{name}</a></h3>{description}<p class="meta">{minutes} min · {price}</p><p><a class="button" href="book.html?service={id}" aria-label="Book {name}">Book</a></p></li>"#,
        page = service_file(service),
        name = escape(service.name.as_str()),
        minutes = service.duration_minutes.get(),
        price = money(&service.price),
        id = service.id,
    )
}

fn location_block(location: &PublicLocation) -> String {
    let a = &location.address;
    let mut address = escape(a.line1.as_str());
    if let Some(line2) = &a.line2 {
        let _ = write!(address, "<br>{}", escape(line2.as_str()));
    }
    let _ = write!(address, "<br>{} {}", escape(a.city.as_str()), escape(a.postcode.as_str()));
    let phone = location
        .phone
        .as_ref()
        .map(|p| format!(r#"<p>Call <a href="tel:{0}">{0}</a></p>"#, escape(p.as_str())))
        .unwrap_or_default();
    let hours = location
        .opening_hours
        .iter()
        .map(|h| {
            let day = serde_json::to_value(h.day).ok().and_then(|v| v.as_str().map(title_case)).unwrap_or_default();
            format!("<dt>{day}</dt><dd>{}–{}</dd>", String::from(h.start), String::from(h.end))
        })
        .collect::<String>();
    format!(
        r#"<li class="card"><h3>{name}</h3><address>{address}</address>{phone}<h4>Opening hours <span class="note">({tz} time)</span></h4><dl class="hours">{hours}</dl></li>"#,
        name = escape(location.name.as_str()),
        tz = escape(location.timezone.tz().name()),
    )
}

pub fn landing(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let clinic = escape(catalog.clinic.name.as_str());
    let tagline = catalog.brand.seo.description.as_ref().map(|d| escape(d.as_str())).unwrap_or_default();
    let services = catalog.services.iter().map(service_card).collect::<String>();
    let practitioners = catalog
        .practitioners
        .iter()
        .map(|p| {
            let title =
                p.title.as_ref().map(|t| format!(r#"<p class="meta">{}</p>"#, escape(t.as_str()))).unwrap_or_default();
            let bio =
                if p.bio.as_str().is_empty() { String::new() } else { format!("<p>{}</p>", escape(p.bio.as_str())) };
            format!(r#"<li class="card"><h3>{}</h3>{title}{bio}</li>"#, escape(p.display_name.as_str()))
        })
        .collect::<String>();
    let locations = catalog.locations.iter().map(location_block).collect::<String>();
    let reviews = crate::reviews::section(catalog);
    let contact = catalog
        .locations
        .iter()
        .filter_map(|l| l.phone.as_ref().map(|p| (l, p)))
        .map(|(l, p)| format!(r#"<li>{}: <a href="tel:{1}">{1}</a></li>"#, escape(l.name.as_str()), escape(p.as_str())))
        .collect::<String>();
    let body = format!(
        r#"<section class="hero" aria-labelledby="hero-title"><div class="wrap">
<h1 id="hero-title">{clinic}</h1>
<p class="lead">{tagline}</p>
<p class="actions"><a class="button" href="book.html">Book an appointment</a> <a class="button ghost" href="services.html">See treatments</a></p>
</div></section>
<section class="band" aria-labelledby="services-title"><div class="wrap">
<h2 id="services-title">Treatments</h2>
<ul class="grid">{services}</ul>
</div></section>
<section class="band alt" aria-labelledby="team-title"><div class="wrap">
<h2 id="team-title">Our practitioners</h2>
<ul class="grid">{practitioners}</ul>
</div></section>
{reviews}
<section class="band" id="visit" aria-labelledby="visit-title"><div class="wrap">
<h2 id="visit-title">Visit us</h2>
<ul class="grid">{locations}</ul>
</div></section>
<section class="band alt" aria-labelledby="contact-title"><div class="wrap">
<h2 id="contact-title">Contact</h2>
<ul class="plain">{contact}</ul>
<p><a class="button" href="book.html">Book online</a></p>
</div></section>"#
    );
    let title = catalog
        .brand
        .seo
        .title
        .as_ref()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| catalog.clinic.name.as_str().to_owned());
    layout(catalog, options, Page { title, description: None, current: "index.html", body, script: None, root: "" })
}

pub fn services(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let mut groups: Vec<(&str, Vec<&PublicService>)> = Vec::new();
    for service in &catalog.services {
        match groups.iter_mut().find(|(c, _)| *c == service.category.as_str()) {
            Some((_, list)) => list.push(service),
            None => groups.push((service.category.as_str(), vec![service])),
        }
    }
    let body = groups
        .iter()
        .map(|(category, list)| {
            let id = format!("cat-{category}");
            format!(
                r#"<section aria-labelledby="{id}"><h2 id="{id}">{}</h2><ul class="grid">{}</ul></section>"#,
                escape(&title_case(category)),
                list.iter().map(|s| service_card(s)).collect::<String>()
            )
        })
        .collect::<String>();
    let body = format!(r#"<div class="wrap page"><h1>Treatments</h1>{body}</div>"#);
    let title = format!("Treatments — {}", catalog.clinic.name.as_str());
    layout(catalog, options, Page { title, description: None, current: "services.html", body, script: None, root: "" })
}

pub fn service(catalog: &PublicCatalog, options: &SiteOptions, service: &PublicService) -> String {
    use mas_domain::catalog::DepositRule;
    let name = escape(service.name.as_str());
    let deposit = match &service.deposit {
        Some(DepositRule::Percent { percent }) => format!("<li>A {percent}% deposit secures your booking</li>"),
        Some(DepositRule::Fixed { amount_minor }) => format!(
            "<li>A {} deposit secures your booking</li>",
            money(&Money { amount_minor: *amount_minor, currency: service.price.currency.clone() })
        ),
        _ => String::new(),
    };
    let locations = catalog
        .locations
        .iter()
        .filter(|l| service.location_ids.is_empty() || service.location_ids.contains(&l.id))
        .map(|l| escape(l.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let practitioners = catalog
        .practitioners
        .iter()
        .filter(|p| p.specialties.contains(&service.category))
        .map(|p| format!("<li>{}</li>", escape(p.display_name.as_str())))
        .collect::<String>();
    let practitioners = if practitioners.is_empty() {
        String::new()
    } else {
        format!(r#"<h2>Who treats you</h2><ul class="plain">{practitioners}</ul>"#)
    };
    let body = format!(
        r#"<div class="wrap page narrow">
<p><a href="services.html">All treatments</a></p>
<h1>{name}</h1>
<p class="lead">{description}</p>
<ul class="facts"><li>{minutes} minutes</li><li>{price}</li>{deposit}<li>At {locations}</li></ul>
{practitioners}
<p><a class="button" href="book.html?service={id}">Book {name}</a></p>
</div>"#,
        description = escape(service.description.as_str()),
        minutes = service.duration_minutes.get(),
        price = money(&service.price),
        id = service.id,
    );
    let title = format!("{} — {}", service.name.as_str(), catalog.clinic.name.as_str());
    let description = (!service.description.as_str().is_empty()).then(|| service.description.as_str().to_owned());
    layout(catalog, options, Page { title, description, current: "", body, script: None, root: "" })
}

/// The booking wizard: the first step is server-rendered (it works as a plain form); the script
/// fetches times, sends the booking and shows the outcome. The catalog facts the script needs
/// travel in a JSON data island.
pub fn book(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let services = catalog
        .services
        .iter()
        .map(|s| {
            format!(
                r#"<label class="choice"><input type="radio" name="service" value="{id}" required> <span><strong>{name}</strong> <span class="meta">{minutes} min · {price}</span></span></label>"#,
                id = s.id,
                name = escape(s.name.as_str()),
                minutes = s.duration_minutes.get(),
                price = money(&s.price),
            )
        })
        .collect::<String>();
    let locations = catalog
        .locations
        .iter()
        .map(|l| {
            format!(
                r#"<label class="choice"><input type="radio" name="location" value="{id}" required> <span><strong>{name}</strong> <span class="meta">{city}</span></span></label>"#,
                id = l.id,
                name = escape(l.name.as_str()),
                city = escape(l.address.city.as_str()),
            )
        })
        .collect::<String>();
    let questions = SCREENING_QUESTIONS
        .iter()
        .map(|(field, question)| {
            format!(
                r#"<fieldset class="yesno"><legend>{question}</legend><label><input type="radio" name="{field}" value="yes" required> Yes</label><label><input type="radio" name="{field}" value="no"> No</label></fieldset>"#
            )
        })
        .collect::<String>();
    let data = serde_json::json!({
        "slug": catalog.clinic.slug,
        "services": catalog.services.iter().map(|s| serde_json::json!({
            "id": s.id, "name": s.name, "duration_minutes": s.duration_minutes.get(),
            "price": money(&s.price), "location_ids": s.location_ids,
        })).collect::<Vec<_>>(),
        "locations": catalog.locations.iter().map(|l| serde_json::json!({
            "id": l.id, "name": l.name, "timezone": l.timezone,
        })).collect::<Vec<_>>(),
        "currency": catalog.clinic.currency,
    });
    let data = super::script_json(&data);
    let body = format!(
        r#"<div class="wrap page narrow">
<h1>Book an appointment</h1>
<ol class="progress" aria-label="Booking steps">
<li data-step="step-service" aria-current="step">Treatment</li><li data-step="step-time">Day and time</li><li data-step="step-details">Your details</li><li data-step="step-done">Confirmation</li>
</ol>
<p id="status" class="status" role="status" aria-live="polite"></p>
<div id="wizard">
<section id="step-service" aria-labelledby="h-service">
<h2 id="h-service" tabindex="-1">Choose a treatment</h2>
<form id="form-service" novalidate>
<fieldset class="choices"><legend>Treatment</legend>{services}</fieldset>
<fieldset class="choices" id="location-choices"><legend>Location</legend>{locations}</fieldset>
<p class="error" id="service-error" hidden></p>
<p class="actions"><button type="submit" class="button">Continue</button></p>
</form>
</section>
<section id="step-time" aria-labelledby="h-time" hidden>
<h2 id="h-time" tabindex="-1">Choose a day and time</h2>
<p id="tz-note" class="note"></p>
<form id="form-time" novalidate>
<fieldset class="choices days"><legend>Day</legend><div id="days"></div></fieldset>
<fieldset class="choices times"><legend>Time</legend><div id="times"><p class="note">Choose a day first.</p></div></fieldset>
<p class="error" id="time-error" hidden></p>
<p class="actions"><button type="button" class="button ghost" data-back="step-service">Back</button> <button type="submit" class="button">Continue</button></p>
</form>
<p class="note">No time suits? <a href="waitlist.html">Join the waiting list</a>: we offer you the first time that frees up.</p>
</section>
<section id="step-details" aria-labelledby="h-details" hidden>
<h2 id="h-details" tabindex="-1">Your details</h2>
<p id="summary" class="note"></p>
<form id="form-details" novalidate>
<div class="field"><label for="first_name">First name</label><input id="first_name" name="first_name" autocomplete="given-name" required maxlength="100"></div>
<div class="field"><label for="last_name">Last name</label><input id="last_name" name="last_name" autocomplete="family-name" required maxlength="100"></div>
<div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required></div>
<div class="field"><label for="phone">Phone <span class="note">(optional)</span></label><input id="phone" name="phone" type="tel" autocomplete="tel"></div>
<fieldset class="screening"><legend>Medical screening</legend>
<p class="note">Your answers are kept confidential and read only by your practitioner. Please answer every question.</p>
{questions}
</fieldset>
<div class="field check"><input id="agree" name="agree" type="checkbox" required><label for="agree">I agree to the <a href="terms.html">terms</a> and <a href="privacy.html">privacy notice</a></label></div>
<div class="error" id="details-error" tabindex="-1" hidden></div>
<p class="actions"><button type="button" class="button ghost" data-back="step-time">Back</button> <button type="submit" class="button">Book appointment</button></p>
</form>
</section>
<section id="step-done" aria-labelledby="h-done" hidden>
<h2 id="h-done" tabindex="-1">You are booked</h2>
<div id="confirmation"></div>
<div id="deposit" data-hook="deposit" hidden></div>
<p class="actions"><a class="button ghost" href="index.html">Back to the home page</a></p>
</section>
</div>
<noscript><p>Online booking needs JavaScript. Please call us to book.</p></noscript>
<script type="application/json" id="site-data">{data}</script>
</div>"#
    );
    let title = format!("Book — {}", catalog.clinic.name.as_str());
    layout(
        catalog,
        options,
        Page { title, description: None, current: "book.html", body, script: Some("site.js"), root: "" },
    )
}

fn legal(
    catalog: &PublicCatalog,
    options: &SiteOptions,
    file: &'static str,
    title: &str,
    sections: &[(&str, String)],
) -> String {
    let body = sections.iter().map(|(h, p)| format!("<h2>{h}</h2><p>{p}</p>")).collect::<String>();
    let body = format!(r#"<div class="wrap page narrow"><h1>{title}</h1>{body}</div>"#);
    let title = format!("{title} — {}", catalog.clinic.name.as_str());
    layout(catalog, options, Page { title, description: None, current: file, body, script: None, root: "" })
}

pub fn privacy(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let clinic = escape(catalog.clinic.name.as_str());
    legal(catalog, options, "privacy.html", "Privacy notice", &[
        ("Who we are", format!("{clinic} is the controller of the personal data you give when you book with us.")),
        ("What we keep", "Your name and contact details, your appointments, and the answers to our medical screening questions. Medical answers are encrypted and read only by clinicians.".into()),
        ("Why", "To provide and follow up your treatment safely, to remind you of appointments, and to meet our legal duties as a healthcare provider.".into()),
        ("Your rights", "You may ask to see, correct or erase your data, or to restrict how we use it. Contact us at any of our locations.".into()),
    ])
}

pub fn terms(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let clinic = escape(catalog.clinic.name.as_str());
    legal(catalog, options, "terms.html", "Terms of booking", &[
        ("Bookings", format!("A booking with {clinic} is confirmed when you receive a confirmation number beginning BK-.")),
        ("Deposits", "Some treatments need a deposit to hold your time. It counts towards the price of your treatment.".into()),
        ("Changes and cancellations", "Please give us notice if you need to change or cancel; late changes may carry a fee under the policy in force when you booked.".into()),
        ("Suitability", "Your practitioner may decline or postpone a treatment that is not safe for you, and may ask you to book a consultation first.".into()),
    ])
}

/// The gift-card page (`gift-cards.html`): an amount (the presets, or any within the bounds),
/// the buyer and the recipient, then the pay step (`gift.js` and `pay.js`). Works only with
/// JavaScript (the payment is in the browser); says so without it.
pub fn gift_cards(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    use mas_domain::gift_card::{MAX_AMOUNT, MIN_AMOUNT, PRESET_AMOUNTS};
    let currency = &catalog.clinic.currency;
    let price = |minor: i64| {
        money(&Money {
            amount_minor: mas_domain::values::MinorUnits::new(minor).expect("a preset"),
            currency: currency.clone(),
        })
    };
    let presets = PRESET_AMOUNTS
        .iter()
        .enumerate()
        .map(|(i, minor)| {
            let checked = if i == 1 { " checked" } else { "" };
            format!(r#"<label class="choice"><input type="radio" name="amount" value="{minor}"{checked}> <span><strong>{}</strong></span></label>"#, price(*minor))
        })
        .collect::<String>();
    let island = crate::script_json(&serde_json::json!({
        "slug": catalog.clinic.slug, "currency": currency, "min_minor": MIN_AMOUNT, "max_minor": MAX_AMOUNT,
    }));
    let body = format!(
        r##"<div class="wrap page narrow">
<h1>Gift cards</h1>
<p>Give a treatment at {clinic}: choose an amount and who it is for. We email them the card's code; they can spend it in part, over several visits.</p>
<form id="gift-form" novalidate>
<div class="error" id="gift-error" tabindex="-1" hidden></div>
<fieldset><legend>Amount</legend>
<div class="choices">{presets}<label class="choice"><input type="radio" name="amount" value="custom"> <span><strong>Another amount</strong></span></label></div>
<div class="field"><label for="gift-custom">Another amount ({min} to {max})</label><input id="gift-custom" name="custom" inputmode="decimal" disabled></div>
</fieldset>
<fieldset><legend>For</legend>
<div class="field"><label for="recipient-name">Their name</label><input id="recipient-name" name="recipient_name" autocomplete="off" required></div>
<div class="field"><label for="recipient-email">Their email (the code is sent here: yours, to give it yourself)</label><input id="recipient-email" name="recipient_email" type="email" autocomplete="off" required></div>
</fieldset>
<fieldset><legend>From</legend>
<div class="field"><label for="buyer-name">Your name</label><input id="buyer-name" name="buyer_name" autocomplete="name" required></div>
<div class="field"><label for="buyer-email">Your email (for the confirmation)</label><input id="buyer-email" name="buyer_email" type="email" autocomplete="email" required></div>
</fieldset>
<p class="actions"><button type="submit" class="button" id="gift-continue">Continue to payment</button></p>
</form>
<section id="gift-pay" hidden><h2>Payment</h2><p id="gift-summary"></p><div id="gift-pay-box"></div></section>
<section id="gift-done" hidden></section>
<p id="gift-status" role="status" aria-live="polite"></p>
<noscript><p>Buying a gift card online needs JavaScript. Please call us, or buy one at the desk.</p></noscript>
</div>
<script type="application/json" id="gift-data">{island}</script>"##,
        clinic = escape(catalog.clinic.name.as_str()),
        min = price(MIN_AMOUNT),
        max = price(MAX_AMOUNT),
    );
    let title = format!("Gift cards — {}", catalog.clinic.name.as_str());
    layout(
        catalog,
        options,
        Page { title, description: None, current: "gift-cards.html", body, script: Some("gift.js"), root: "" },
    )
}

/// The academy (`courses.html`): the clinic's published courses and their open cohorts, which
/// `courses.js` reads from the API when the page opens (seats left change by the minute), each
/// cohort with an enrol form; a place with a price goes on to its hosted payment page.
pub fn courses(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let body = format!(
        r##"<div class="wrap page narrow">
<h1>Courses</h1>
<p>Training at {clinic}: our courses for practitioners, with the dates open for enrolment. Enrolled already? <a href="learn.html">Go to your courses</a>.</p>
<p id="courses-status" role="status" aria-live="polite"></p>
<div id="courses"><p>Loading the courses…</p></div>
<noscript><p>Enrolling online needs JavaScript. Please call us to enrol.</p></noscript>
</div>"##,
        clinic = escape(catalog.clinic.name.as_str()),
    );
    let title = format!("Courses — {}", catalog.clinic.name.as_str());
    layout(
        catalog,
        options,
        Page { title, description: None, current: "courses.html", body, script: Some("courses.js"), root: "" },
    )
}

/// The student's page (`learn.html`): sign in by an emailed link (the token travels in the URL
/// fragment), then the student's courses as the version they enrolled on, lessons to read and
/// mark complete, and timed quizzes. `learn.js` does it all against the API.
pub fn learn(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let body = format!(
        r#"<div class="wrap page narrow">
<h1>My courses</h1>
<p id="learn-status" class="status" role="status" aria-live="polite"></p>
<section id="learn-signin" aria-labelledby="h-learn-signin">
<h2 id="h-learn-signin">Sign in</h2>
<p>Enter the email you enrolled with at {clinic}. We will email you a link that signs you in; it works once, for 15 minutes.</p>
<form id="learn-link" novalidate>
<div class="field"><label for="learn-email">Email</label><input id="learn-email" name="email" type="email" autocomplete="email" required></div>
<p class="actions"><button type="submit" class="button">Email me a sign-in link</button></p>
</form>
</section>
<div id="learn-courses"></div>
<noscript><p>Your courses need JavaScript.</p></noscript>
</div>"#,
        clinic = escape(catalog.clinic.name.as_str()),
    );
    let title = format!("My courses — {}", catalog.clinic.name.as_str());
    layout(
        catalog,
        options,
        Page { title, description: None, current: "learn.html", body, script: Some("learn.js"), root: "" },
    )
}

/// The waiting list (`waitlist.html`): when no time suits, a visitor names a treatment, a
/// location, the days (and times of day, on the clinic's clock) she could come and who she is;
/// the first time that frees up is held for her and offered by email. The page also takes the
/// deposit of an offer she took in the portal (`#deposit`). `waitlist.js` posts the form.
pub fn waitlist(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let options_of = |items: Vec<(String, String)>| {
        items
            .into_iter()
            .map(|(v, n)| format!(r#"<option value="{}">{}</option>"#, escape(&v), escape(&n)))
            .collect::<String>()
    };
    let services = options_of(catalog.services.iter().map(|s| (s.id.to_string(), s.name.to_string())).collect());
    let locations = options_of(catalog.locations.iter().map(|l| (l.id.to_string(), l.name.to_string())).collect());
    let island = crate::script_json(&serde_json::json!({
        "slug": catalog.clinic.slug,
        "currency": catalog.clinic.currency,
        "zones": catalog.locations.iter().map(|l| (l.id.to_string(), l.timezone)).collect::<std::collections::BTreeMap<_, _>>(),
    }));
    let body = format!(
        r##"<div class="wrap page narrow">
<h1>Waiting list</h1>
<p id="wl-status" class="status" role="status" aria-live="polite"></p>
<form id="form-waitlist" novalidate>
<p>No time suits? Tell us when you could come. When such a time frees up we hold it for you and email you a link to take it.</p>
<div class="field"><label for="wl-service">Treatment</label><select id="wl-service" name="service_id">{services}</select></div>
<div class="field"><label for="wl-location">Location</label><select id="wl-location" name="location_id">{locations}</select></div>
<div class="field"><label for="wl-from">From</label><input id="wl-from" name="from_date" type="date" required></div>
<div class="field"><label for="wl-to">Until</label><input id="wl-to" name="to_date" type="date" required></div>
<div class="field"><label for="wl-earliest">Not before <span class="note">(optional, clinic time)</span></label><input id="wl-earliest" name="earliest" type="time"></div>
<div class="field"><label for="wl-latest">Not after <span class="note">(optional, clinic time)</span></label><input id="wl-latest" name="latest" type="time"></div>
<div class="field"><label for="wl-first">First name</label><input id="wl-first" name="first_name" autocomplete="given-name" required maxlength="100"></div>
<div class="field"><label for="wl-last">Last name</label><input id="wl-last" name="last_name" autocomplete="family-name" required maxlength="100"></div>
<div class="field"><label for="wl-email">Email</label><input id="wl-email" name="email" type="email" autocomplete="email" required></div>
<div class="field"><label for="wl-phone">Phone <span class="note">(optional)</span></label><input id="wl-phone" name="phone" type="tel" autocomplete="tel"></div>
<div class="error" id="waitlist-error" tabindex="-1" hidden></div>
<p class="actions"><button type="submit" class="button">Join the waiting list</button></p>
</form>
<section id="wl-deposit" hidden><h2>Deposit due</h2><p id="wl-summary"></p><p class="actions"><button type="button" class="button" id="wl-pay">Pay the deposit</button></p><div id="wl-pay-box"></div></section>
<noscript><p>The waiting list needs JavaScript. Please call us.</p></noscript>
</div>
<script type="application/json" id="waitlist-data">{island}</script>"##
    );
    let title = format!("Waiting list — {}", catalog.clinic.name.as_str());
    layout(
        catalog,
        options,
        Page { title, description: None, current: "waitlist.html", body, script: Some("waitlist.js"), root: "" },
    )
}

/// The client portal (`portal/index.html`): sign in by emailed link, then upcoming and past
/// appointments, changing or cancelling one with the fee shown first, documents and preferences.
/// The shell is server-rendered; `portal.js` fills it from the portal API.
pub fn portal(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let data = serde_json::json!({
        "slug": catalog.clinic.slug,
        "services": catalog.services.iter().map(|s| serde_json::json!({ "id": s.id, "name": s.name })).collect::<Vec<_>>(),
        "locations": catalog.locations.iter().map(|l| serde_json::json!({ "id": l.id, "name": l.name, "timezone": l.timezone })).collect::<Vec<_>>(),
    });
    let data = super::script_json(&data);
    let body = format!(
        r#"<div class="wrap page narrow">
<h1>My bookings</h1>
<p id="status" class="status" role="status" aria-live="polite"></p>
<div class="error" id="portal-error" tabindex="-1" hidden></div>
<section id="signin" aria-labelledby="h-signin">
<h2 id="h-signin" tabindex="-1">Sign in</h2>
<p>Enter the email you booked with. We will email you a link that signs you in; it works once, for 15 minutes.</p>
<form id="form-link" novalidate>
<div class="field"><label for="portal-email">Email</label><input id="portal-email" name="email" type="email" autocomplete="email" required></div>
<p class="actions"><button type="submit" class="button">Email me a sign-in link</button></p>
</form>
<p id="link-sent" class="note" hidden>If that email is one we have on file, a sign-in link is on its way. Open it on this device.</p>
</section>
<section id="offer" aria-labelledby="h-offer" hidden>
<h2 id="h-offer" tabindex="-1">A time is held for you</h2>
<p>A time you were waiting for has come free. Our message says which; it is held for you until the time it gives. Take it, or give it back so the next person waiting can have it.</p>
<p class="actions"><button type="button" id="offer-accept" class="button">Take this time</button> <button type="button" id="offer-decline" class="button ghost">Give it back</button></p>
<p id="offer-outcome" class="note" hidden></p>
</section>
<section id="account" aria-labelledby="h-account" hidden>
<h2 id="h-account" tabindex="-1">Welcome back</h2>
<div id="balances-box" hidden>
<h3 id="h-balances">Payments</h3>
<ul id="balances" class="plain stack" aria-labelledby="h-balances"></ul>
</div>
<h3 id="h-upcoming">Upcoming appointments</h3>
<ul id="upcoming" class="plain stack" aria-labelledby="h-upcoming"></ul>
<h3 id="h-past">Past appointments</h3>
<ul id="past" class="plain stack" aria-labelledby="h-past"></ul>
<h3 id="h-documents">Documents</h3>
<ul id="documents" class="plain stack" aria-labelledby="h-documents"></ul>
<h3 id="h-receipts">Receipts</h3>
<ul id="receipts" class="plain stack" aria-labelledby="h-receipts"></ul>
<div id="gift-cards-box" hidden><h3 id="h-gift-cards">Gift cards</h3>
<ul id="gift-cards" class="plain stack" aria-labelledby="h-gift-cards"></ul></div>
<div id="points-box" hidden><h3>Loyalty points</h3><p id="points"></p></div>
<div id="packages-box" hidden><h3 id="h-packages">Packages</h3>
<ul id="packages" class="plain stack" aria-labelledby="h-packages"></ul></div>
<div id="memberships-box" hidden><h3 id="h-memberships">Memberships</h3>
<ul id="memberships" class="plain stack" aria-labelledby="h-memberships"></ul></div>
<h3>Preferences</h3>
<form id="form-prefs" novalidate>
<fieldset class="choices"><legend>Messages about my appointments</legend>
<div class="field check"><input id="email-transactional" type="checkbox"><label for="email-transactional">By email</label></div>
<div class="field check"><input id="sms-transactional" type="checkbox"><label for="sms-transactional">By text message</label></div>
</fieldset>
<fieldset class="choices"><legend>News and offers from the clinic</legend>
<div class="field check"><input id="email-marketing" type="checkbox"><label for="email-marketing">By email</label></div>
<div class="field check"><input id="sms-marketing" type="checkbox"><label for="sms-marketing">By text message</label></div>
</fieldset>
<p class="actions"><button type="submit" class="button ghost">Save preferences</button></p>
</form>
<p class="actions"><button type="button" id="sign-out" class="button ghost">Sign out</button></p>
</section>
<section id="change" aria-labelledby="h-change" hidden>
<h2 id="h-change" tabindex="-1">Change your appointment</h2>
<p id="change-summary"></p>
<h3>Move it to another time</h3>
<p id="reschedule-fee" class="note"></p>
<form id="form-reschedule" novalidate>
<div class="field"><label for="new-day">Day</label><input id="new-day" name="day" type="date" required></div>
<fieldset class="choices times"><legend>Time <span class="note">(clinic time)</span></legend><div id="new-times"><p class="note">Choose a day first.</p></div></fieldset>
<p class="actions"><button type="submit" class="button">Confirm new time</button></p>
</form>
<h3>Cancel it</h3>
<p id="cancel-fee" class="note"></p>
<p class="actions"><button type="button" id="cancel-appointment" class="button ghost">Cancel this appointment</button></p>
<p class="actions"><button type="button" id="change-back" class="button ghost">Back to my bookings</button></p>
</section>
<noscript><p>The portal needs JavaScript. Please call us to change a booking.</p></noscript>
<script type="application/json" id="site-data">{data}</script>
</div>"#
    );
    let title = format!("My bookings — {}", catalog.clinic.name.as_str());
    layout(
        catalog,
        options,
        Page { title, description: None, current: "portal/", body, script: Some("portal.js"), root: "../" },
    )
}

/// The page a review link opens (`review.html`): `review.js` posts the review with the link's token.
pub fn review(catalog: &PublicCatalog, options: &SiteOptions) -> String {
    let title = format!("Review your visit — {}", catalog.clinic.name.as_str());
    let body = crate::reviews::page_body(catalog);
    layout(
        catalog,
        options,
        Page { title, description: None, current: "review.html", body, script: Some("review.js"), root: "" },
    )
}
