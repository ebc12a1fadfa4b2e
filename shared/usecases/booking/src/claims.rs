//! The claims appointments hold on calendars, written as hour blocks.
//!
//! A booking claims every five-minute cell of its occupied span (see `domain::appointment`) for
//! its practitioner and one unit of each resource. Cells are grouped by UTC hour into one item per
//! calendar and hour (`keys::claim_block`): cell `mm` is the attribute `c{mm}` (the holder's
//! appointment id) with `h{mm}` (a hold's expiry, absent once confirmed). One conditional update
//! per block claims all of that hour's cells at once, each on condition that it is free (absent,
//! or an expired hold) or already held by one of the appointments being rewritten; two bookings
//! that overlap touch the same block with a shared cell, so exactly one transaction wins, as with
//! one item per cell. The gain is size: a three-hour visit with a room is 8 blocks instead of 72
//! cell items, so DynamoDB's 100-write transaction no longer shortens real visits.
//!
//! A transaction may touch an item once, so every claim and release of one transaction (the
//! services of a visit, a move's old and new time) is gathered here first and written as one
//! update per block.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Value, json};

use mas_domain::appointment::{self, Appointment, AppointmentStatus};
use mas_domain::error::{AppError, AppResult};
use mas_domain::ids::{AppointmentId, TenantId};
use mas_ports::table::TTL;
use mas_ports::{Condition, Item, Key, Write};
use mas_store::keys::{self, CalendarOwner};
use mas_store::{Plan, Store};

use crate::appointments::ClaimError;

/// Blocks are kept this long after the hour they cover, then expire.
pub const RETENTION: Duration = Duration::days(30);

/// One cell of one calendar: its block and its minute within the hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub block: Key,
    pub minute: u32,
}

impl Cell {
    fn holder_attr(&self) -> String {
        format!("c{:02}", self.minute)
    }

    fn hold_attr(&self) -> String {
        format!("h{:02}", self.minute)
    }
}

/// Every calendar an appointment occupies: its practitioner's, and one unit of each resource.
pub fn owners(appointment: &Appointment) -> Vec<(CalendarOwner<'_>, u32)> {
    std::iter::once((CalendarOwner::Practitioner(&appointment.practitioner_id), 0))
        .chain(appointment.resources.iter().map(|u| (CalendarOwner::Resource(&u.resource_id), u.unit)))
        .collect()
}

/// The cells an appointment needs, on every calendar it occupies.
pub fn cells(tenant: &TenantId, appointment: &Appointment) -> Vec<Cell> {
    let (from, until) = appointment.occupied();
    let starts = appointment::cells(from, until);
    owners(appointment)
        .into_iter()
        .flat_map(|(owner, unit)| {
            starts.iter().map(move |start| {
                let hour = start.duration_trunc(Duration::hours(1)).expect("an hour boundary within range");
                let minute = u32::try_from((*start - hour).num_minutes()).expect("a minute within the hour");
                Cell { block: keys::claim_block(tenant, owner, hour, unit), minute }
            })
        })
        .collect()
}

/// Which of `appointments`' cells each still holds (an expired hold may have lost some).
pub async fn held(
    store: &Store,
    tenant: &TenantId,
    appointments: &[&Appointment],
) -> AppResult<HashMap<Cell, AppointmentId>> {
    let wanted: Vec<(Cell, &AppointmentId)> =
        appointments.iter().flat_map(|a| cells(tenant, a).into_iter().map(move |cell| (cell, &a.id))).collect();
    let blocks: Vec<Key> =
        wanted.iter().map(|(cell, _)| cell.block.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut stored: HashMap<Key, Item> = HashMap::new();
    for chunk in blocks.chunks(100) {
        for item in store.table.batch_get(chunk).await? {
            if let Some(key) = Key::of(&item) {
                stored.insert(key, item);
            }
        }
    }
    let mut held = HashMap::new();
    for (cell, id) in wanted {
        let holder = stored.get(&cell.block).and_then(|item| item.get(&cell.holder_attr())).and_then(Value::as_str);
        if holder == Some(id.as_str()) {
            held.insert(cell, id.clone());
        }
    }
    Ok(held)
}

/// The block updates of one transaction, gathered so each block is written once.
#[derive(Debug, Default)]
pub struct Claims {
    blocks: BTreeMap<Key, Block>,
}

#[derive(Debug, Default)]
struct Block {
    set: Item,
    remove: Vec<String>,
    conditions: Vec<Condition>,
    claimed: HashSet<u32>,
    /// Cells to give back unless claimed again in the same transaction, with their holder.
    released: Vec<(u32, AppointmentId)>,
    expires: i64,
}

impl Claims {
    pub fn new() -> Self {
        Claims::default()
    }

    /// Claims `appointment`'s cells. A cell in `held` is taken over on condition that it is
    /// still held by the one it names (the appointment itself, or another being moved in this
    /// transaction); any other must be free or an expired hold.
    pub fn claim(
        &mut self,
        tenant: &TenantId,
        appointment: &Appointment,
        held: &HashMap<Cell, AppointmentId>,
        now: DateTime<Utc>,
    ) {
        let hold_until = (appointment.status == AppointmentStatus::PendingDeposit)
            .then_some(appointment.hold_expires_at)
            .flatten()
            .map(|at| at.timestamp());
        for cell in cells(tenant, appointment) {
            let condition = match held.get(&cell) {
                Some(holder) => Condition::equals(cell.holder_attr(), holder.as_str()),
                None => Condition::SlotFree {
                    attr: cell.holder_attr(),
                    expires: cell.hold_attr(),
                    before: now.timestamp() + 1,
                },
            };
            let block = self.block(&cell);
            block.set.insert(cell.holder_attr(), json!(appointment.id));
            match hold_until {
                Some(until) => {
                    block.set.insert(cell.hold_attr(), json!(until));
                }
                None => block.remove.push(cell.hold_attr()),
            }
            block.conditions.push(condition);
            block.claimed.insert(cell.minute);
        }
    }

    /// Gives back the cells of `appointment` it still holds, except any claimed again in this
    /// same transaction (call after the claims).
    pub fn release(&mut self, tenant: &TenantId, appointment: &Appointment, held: &HashMap<Cell, AppointmentId>) {
        for cell in cells(tenant, appointment) {
            if held.get(&cell) == Some(&appointment.id) {
                let minute = cell.minute;
                self.block(&cell).released.push((minute, appointment.id.clone()));
            }
        }
    }

    fn block(&mut self, cell: &Cell) -> &mut Block {
        let block = self.blocks.entry(cell.block.clone()).or_default();
        block.expires = expiry_of(&cell.block);
        block
    }

    /// One update per block, failing with `SlotTaken` (a practitioner's) or `ResourceTaken` (a
    /// room's or device's) when a claimed cell is no longer free.
    pub fn push_into<F: From<AppError> + From<ClaimError>>(self, plan: &mut Plan<F>) {
        for (key, mut block) in self.blocks {
            for (minute, holder) in std::mem::take(&mut block.released) {
                if block.claimed.contains(&minute) {
                    continue;
                }
                let cell = Cell { block: key.clone(), minute };
                block.remove.extend([cell.holder_attr(), cell.hold_attr()]);
                block.conditions.push(Condition::equals(cell.holder_attr(), holder.as_str()));
            }
            if block.conditions.is_empty() {
                continue;
            }
            let claims = !block.claimed.is_empty();
            if claims {
                block.set.insert(TTL.into(), json!(block.expires));
                block.set.insert(mas_store::ENTITY_TYPE.into(), json!("claim_block"));
            }
            let failure: F = if !claims {
                AppError::contention("the calendar changed while this was being saved; try again").into()
            } else if key.pk.contains("#RES#") {
                ClaimError::ResourceTaken("a room or device has just been taken at that time; choose another".into())
                    .into()
            } else {
                ClaimError::SlotTaken.into()
            };
            let write = Write::Update {
                key,
                set: block.set,
                add: Default::default(),
                remove: block.remove,
                condition: Some(Condition::All(block.conditions)),
            };
            plan.push(write, failure);
        }
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// A block's expiry: the end of its hour plus the retention, read back from its sort key.
fn expiry_of(block: &Key) -> i64 {
    let hour = block.sk.trim_start_matches("CLAIM#").split('#').next().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00"), "%Y-%m-%dT%HZ:%M")
        .map(|at| (at.and_utc() + Duration::hours(1) + RETENTION).timestamp())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_expires_a_month_after_the_end_of_its_hour() {
        let key = Key::new("TENANT#t#PRAC#p#2026-03", "CLAIM#2026-03-29T01Z#1");
        let end = DateTime::parse_from_rfc3339("2026-03-29T02:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(expiry_of(&key), (end + RETENTION).timestamp());
    }
}
