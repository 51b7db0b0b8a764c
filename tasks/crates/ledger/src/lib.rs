//! A double-entry bookkeeping ledger.
//!
//! Amounts are integer cents ([`Cents`]). Accounts are opened in a [`Chart`] by numeric
//! code (1xxx assets, 2xxx liabilities, 3xxx equity, 4xxx income, 5xxx-9xxx expenses).
//! Transactions are drafted with debits and credits, must balance, and are posted into
//! a [`Ledger`] that tracks accounting periods, voiding, balances and trial balances.

pub mod account;
pub mod error;
pub mod ledger;
pub mod money;
pub mod transaction;

pub use account::{Account, AccountId, AccountKind, Chart, Side};
pub use error::LedgerError;
pub use ledger::{Ledger, TrialBalance, TrialRow};
pub use money::{allocate, apply_rate, format_cents, parse_amount, AmountError, Cents};
pub use transaction::{Posting, Transaction, TransactionDraft, TxId, TxStatus};
