//! The academy's refusals, typed; each becomes its code and status in one place.

use mas_domain::error::AppError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum AcademyError {
    /// 409 `slug_taken` (another course of the clinic has it).
    #[error("another course of this clinic has this slug")]
    SlugTaken,
    /// 409 `concurrent_update`: the version sent is not the stored one.
    #[error("changed since it was read; read it again")]
    Stale,
    /// 409 `version_published`: a version is written once (another publish won the race).
    #[error("this version was published at the same moment; read the course again")]
    VersionPublished,
    /// 409 `not_published`: a cohort runs a published version.
    #[error("publish the course before running a cohort of it")]
    NotPublished,
    /// 422 `unknown_course_version` (field `course_version`).
    #[error("the course has no such published version")]
    UnknownVersion,
    /// 422 `unknown_member` (field `educator_id`).
    #[error("the educator must be a member of the clinic's team")]
    UnknownEducator,
    /// 422 `unknown_prerequisite` (field `prerequisites[i]`).
    #[error("a prerequisite names no course of this clinic")]
    UnknownPrerequisite { field: String },
    /// 409 `seats_taken`: fewer seats than the highest seat held.
    #[error("seat {highest} is held; a cohort cannot have fewer seats than that")]
    SeatsTaken { highest: u32 },
    /// 409 `cohort_full`: every seat is held.
    #[error("this cohort is full")]
    Full,
    /// A seat was taken between reading and claiming it: try the next (never answered).
    #[error("this cohort is full (its last seat was taken at the same moment)")]
    SeatTaken,
    /// 409 `already_enrolled`: this email holds a place in the cohort.
    #[error("this email is already enrolled on this cohort")]
    AlreadyEnrolled,
    #[error(transparent)]
    Store(#[from] AppError),
}

impl From<AcademyError> for AppError {
    fn from(err: AcademyError) -> Self {
        use AcademyError as E;
        let message = err.to_string();
        match err {
            E::SlugTaken => AppError::conflict("slug_taken", message),
            E::Stale => AppError::contention(message),
            E::VersionPublished => AppError::conflict("version_published", message),
            E::NotPublished => AppError::conflict("not_published", message),
            E::UnknownVersion => AppError::invalid("unknown_course_version", "course_version", message),
            E::UnknownEducator => AppError::invalid("unknown_member", "educator_id", message),
            E::UnknownPrerequisite { field } => AppError::invalid("unknown_prerequisite", field, message),
            E::SeatsTaken { .. } => AppError::conflict("seats_taken", message),
            E::Full | E::SeatTaken => AppError::conflict("cohort_full", message),
            E::AlreadyEnrolled => AppError::conflict("already_enrolled", message),
            E::Store(err) => err,
        }
    }
}

impl From<mas_ports::TableError> for AcademyError {
    fn from(err: mas_ports::TableError) -> Self {
        AcademyError::Store(err.into())
    }
}

impl mas_store::retry::Contended for AcademyError {
    fn is_contention(&self) -> bool {
        match self {
            AcademyError::Stale | AcademyError::SeatTaken => true,
            AcademyError::Store(err) => err.is_contention(),
            _ => false,
        }
    }
}
