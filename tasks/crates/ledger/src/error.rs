//! Errors reported by the ledger.

use std::fmt;

use crate::account::{AccountId, AccountKind};
use crate::money::Cents;
use crate::transaction::TxId;

/// Everything that can go wrong while keeping the books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    UnknownAccount(AccountId),
    AccountClosed(AccountId),
    InvalidCode(u32),
    DuplicateCode(u32),
    EmptyName,
    TooFewPostings(usize),
    NonPositiveAmount {
        index: usize,
        amount: Cents,
    },
    Unbalanced {
        debits: Cents,
        credits: Cents,
    },
    PeriodClosed {
        period: u32,
        closed_through: u32,
    },
    UnknownTransaction(TxId),
    AlreadyVoided(TxId),
    WrongKind {
        account: AccountId,
        expected: AccountKind,
    },
    NonZeroBalance {
        account: AccountId,
        balance: Cents,
    },
}

impl LedgerError {
    /// A short stable code for the error, useful in logs and reports.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::UnknownAccount(_) => "E001",
            LedgerError::AccountClosed(_) => "E002",
            LedgerError::InvalidCode(_) => "E003",
            LedgerError::DuplicateCode(_) => "E004",
            LedgerError::EmptyName => "E005",
            LedgerError::TooFewPostings(_) => "E006",
            LedgerError::NonPositiveAmount { .. } => "E007",
            LedgerError::Unbalanced { .. } => "E008",
            LedgerError::PeriodClosed { .. } => "E009",
            LedgerError::UnknownTransaction(_) => "E010",
            LedgerError::AlreadyVoided(_) => "E011",
            LedgerError::WrongKind { .. } => "E012",
            LedgerError::NonZeroBalance { .. } => "E013",
        }
    }
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::UnknownAccount(id) => write!(f, "unknown account #{id}"),
            LedgerError::AccountClosed(id) => write!(f, "account #{id} is closed"),
            LedgerError::InvalidCode(code) => write!(f, "invalid account code {code}"),
            LedgerError::DuplicateCode(code) => write!(f, "account code {code} already in use"),
            LedgerError::EmptyName => write!(f, "account name must not be empty"),
            LedgerError::TooFewPostings(n) => {
                write!(f, "a transaction needs at least 2 postings, got {n}")
            }
            LedgerError::NonPositiveAmount { index, amount } => {
                write!(f, "posting {index} has non-positive amount {amount}")
            }
            LedgerError::Unbalanced { debits, credits } => {
                write!(f, "unbalanced: debits {debits} != credits {credits}")
            }
            LedgerError::PeriodClosed {
                period,
                closed_through,
            } => write!(
                f,
                "period {period} is closed (closed through {closed_through})"
            ),
            LedgerError::UnknownTransaction(id) => write!(f, "unknown transaction #{id}"),
            LedgerError::AlreadyVoided(id) => write!(f, "transaction #{id} is already voided"),
            LedgerError::WrongKind { account, expected } => {
                write!(f, "account #{account} must be of kind {expected:?}")
            }
            LedgerError::NonZeroBalance { account, balance } => {
                write!(f, "account #{account} still has balance {balance}")
            }
        }
    }
}

impl std::error::Error for LedgerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let errors = [
            LedgerError::UnknownAccount(1),
            LedgerError::AccountClosed(1),
            LedgerError::InvalidCode(1),
            LedgerError::DuplicateCode(1),
            LedgerError::EmptyName,
            LedgerError::TooFewPostings(1),
            LedgerError::NonPositiveAmount {
                index: 0,
                amount: 0,
            },
            LedgerError::Unbalanced {
                debits: 1,
                credits: 2,
            },
            LedgerError::PeriodClosed {
                period: 1,
                closed_through: 2,
            },
            LedgerError::UnknownTransaction(1),
            LedgerError::AlreadyVoided(1),
            LedgerError::WrongKind {
                account: 1,
                expected: AccountKind::Equity,
            },
            LedgerError::NonZeroBalance {
                account: 1,
                balance: 5,
            },
        ];
        let mut codes: Vec<&str> = errors.iter().map(LedgerError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        assert_eq!(errors[7].code(), "E008");
    }

    #[test]
    fn display_is_descriptive() {
        let err = LedgerError::Unbalanced {
            debits: 500,
            credits: 450,
        };
        assert_eq!(err.to_string(), "unbalanced: debits 500 != credits 450");
        let err = LedgerError::PeriodClosed {
            period: 3,
            closed_through: 4,
        };
        assert_eq!(err.to_string(), "period 3 is closed (closed through 4)");
        assert_eq!(
            LedgerError::TooFewPostings(1).to_string(),
            "a transaction needs at least 2 postings, got 1"
        );
    }
}
