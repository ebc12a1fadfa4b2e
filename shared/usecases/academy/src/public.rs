//! What the clinic's site shows of its academy: each published course as its newest version says
//! (titles of its modules and lessons, never a lesson's text) with its open cohorts and the
//! seats they have left.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use mas_domain::academy::{CohortStatus, Prerequisite};
use mas_domain::error::AppResult;
use mas_domain::ids::{CohortId, CourseId, TenantId};
use mas_domain::values::{Currency, Name, Slug, Text};
use mas_store::Store;

use crate::cohorts::{self, Viewer};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicModule {
    pub title: Name,
    pub lessons: Vec<Name>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicCohort {
    pub id: CohortId,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub seats: u32,
    pub seats_left: u32,
    /// The price of a place (the version the cohort runs).
    pub price_minor: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicCourse {
    pub id: CourseId,
    pub version: u32,
    pub title: Name,
    pub slug: Slug,
    pub summary: Text,
    pub cpd_hours: u32,
    pub price_minor: i64,
    pub currency: Currency,
    pub modules: Vec<PublicModule>,
    pub prerequisites: Vec<Prerequisite>,
    /// Open for enrolment (not started), soonest first.
    pub cohorts: Vec<PublicCohort>,
}

/// The clinic's published courses with their open cohorts, by title.
pub async fn courses(store: &Store, t: &TenantId) -> AppResult<Vec<PublicCourse>> {
    let today = crate::today(store, t).await?;
    let all_cohorts = cohorts::list(store, t, &Viewer::Clinic).await?;
    let mut out = Vec::new();
    for course in crate::courses::list(store, t).await? {
        let Some(number) = course.published_version else { continue };
        let Some(version) = crate::courses::version(store, t, &course.id, number).await? else { continue };
        let mut open = Vec::new();
        for cohort in all_cohorts.iter().filter(|c| c.course_id == course.id) {
            if cohort.status != CohortStatus::Open || cohort.starts_on <= today {
                continue;
            }
            let price_minor = if cohort.course_version == number {
                version.content.price_minor.get()
            } else {
                match crate::courses::version(store, t, &course.id, cohort.course_version).await? {
                    Some(v) => v.content.price_minor.get(),
                    None => continue,
                }
            };
            open.push(PublicCohort {
                id: cohort.id.clone(),
                starts_on: cohort.starts_on,
                ends_on: cohort.ends_on,
                seats: cohort.seats,
                seats_left: cohorts::seats_left(store, cohort, t).await?,
                price_minor,
            });
        }
        let content = version.content;
        out.push(PublicCourse {
            id: course.id,
            version: number,
            title: content.title,
            slug: content.slug,
            summary: content.summary,
            cpd_hours: content.cpd_hours,
            price_minor: content.price_minor.get(),
            currency: version.currency,
            modules: content
                .modules
                .into_iter()
                .map(|m| PublicModule { title: m.title, lessons: m.lessons.into_iter().map(|l| l.title).collect() })
                .collect(),
            prerequisites: content.prerequisites,
            cohorts: open,
        });
    }
    Ok(out)
}
