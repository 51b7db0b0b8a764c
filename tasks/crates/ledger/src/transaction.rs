//! Transaction drafts, validation and posted transactions.

use crate::account::{AccountId, Side};
use crate::error::LedgerError;
use crate::money::Cents;

/// Index of a transaction in its ledger.
pub type TxId = usize;

/// One line of a transaction: a positive amount on one side of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: AccountId,
    pub side: Side,
    pub amount: Cents,
}

impl Posting {
    /// The amount signed debit-positive, credit-negative.
    pub fn signed(&self) -> Cents {
        match self.side {
            Side::Debit => self.amount,
            Side::Credit => -self.amount,
        }
    }

    /// The same amount on the opposite side.
    pub fn reversed(&self) -> Posting {
        Posting {
            side: self.side.opposite(),
            ..*self
        }
    }
}

/// A transaction being put together, not yet posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDraft {
    pub period: u32,
    pub memo: String,
    pub postings: Vec<Posting>,
}

impl TransactionDraft {
    pub fn new(period: u32, memo: &str) -> Self {
        TransactionDraft {
            period,
            memo: memo.to_string(),
            postings: Vec::new(),
        }
    }

    /// Adds a debit line (builder style).
    pub fn debit(mut self, account: AccountId, amount: Cents) -> Self {
        self.postings.push(Posting {
            account,
            side: Side::Debit,
            amount,
        });
        self
    }

    /// Adds a credit line (builder style).
    pub fn credit(mut self, account: AccountId, amount: Cents) -> Self {
        self.postings.push(Posting {
            account,
            side: Side::Credit,
            amount,
        });
        self
    }

    /// Sum of the debit lines.
    pub fn total_debits(&self) -> Cents {
        self.postings
            .iter()
            .filter(|p| p.side == Side::Debit)
            .map(|p| p.amount)
            .sum()
    }

    /// Sum of the credit lines.
    pub fn total_credits(&self) -> Cents {
        self.postings
            .iter()
            .filter(|p| p.side == Side::Credit)
            .map(|p| p.amount)
            .sum()
    }

    /// Checks the structural rules: at least two postings, every amount positive,
    /// debits equal credits. Accounts are checked by the ledger.
    pub fn validate(&self) -> Result<(), LedgerError> {
        if self.postings.len() < 2 {
            return Err(LedgerError::TooFewPostings(self.postings.len()));
        }
        for (index, posting) in self.postings.iter().enumerate() {
            if posting.amount <= 0 {
                return Err(LedgerError::NonPositiveAmount {
                    index,
                    amount: posting.amount,
                });
            }
        }
        let debits = self.total_debits();
        let credits = self.total_credits();
        if debits != credits {
            return Err(LedgerError::Unbalanced { debits, credits });
        }
        Ok(())
    }

    /// Net signed amount per account (debit-positive), sorted by account id, with
    /// accounts that net to zero left out.
    pub fn net_by_account(&self) -> Vec<(AccountId, Cents)> {
        let mut net: Vec<(AccountId, Cents)> = Vec::new();
        for posting in &self.postings {
            match net.iter_mut().find(|(id, _)| *id == posting.account) {
                Some(entry) => entry.1 += posting.signed(),
                None => net.push((posting.account, posting.signed())),
            }
        }
        net.retain(|&(_, amount)| amount != 0);
        net.sort_by_key(|&(id, _)| id);
        net
    }
}

/// Whether a posted transaction still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Posted,
    Voided,
}

/// A transaction recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: TxId,
    pub period: u32,
    pub memo: String,
    pub postings: Vec<Posting>,
    pub status: TxStatus,
}

impl Transaction {
    pub fn from_draft(id: TxId, draft: TransactionDraft) -> Self {
        Transaction {
            id,
            period: draft.period,
            memo: draft.memo,
            postings: draft.postings,
            status: TxStatus::Posted,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == TxStatus::Posted
    }

    /// Signed effect of this transaction on `account` (0 when voided).
    pub fn effect_on(&self, account: AccountId) -> Cents {
        if !self.is_active() {
            return 0;
        }
        self.postings
            .iter()
            .filter(|p| p.account == account)
            .map(Posting::signed)
            .sum()
    }

    /// Total of the debit side (equal to the credit side).
    pub fn amount(&self) -> Cents {
        self.postings
            .iter()
            .filter(|p| p.side == Side::Debit)
            .map(|p| p.amount)
            .sum()
    }

    /// A draft that undoes this transaction in `period`.
    pub fn reversal(&self, period: u32) -> TransactionDraft {
        TransactionDraft {
            period,
            memo: format!("Reversal of #{}: {}", self.id, self.memo),
            postings: self.postings.iter().map(Posting::reversed).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_collects_postings() {
        let draft = TransactionDraft::new(1, "sale")
            .debit(0, 500)
            .credit(1, 500);
        assert_eq!(draft.postings.len(), 2);
        assert_eq!(draft.postings[1].side, Side::Credit);
        assert_eq!(draft.total_debits(), 500);
        assert_eq!(draft.total_credits(), 500);
        assert_eq!(draft.validate(), Ok(()));
    }

    #[test]
    fn signed_amounts() {
        let debit = Posting {
            account: 0,
            side: Side::Debit,
            amount: 75,
        };
        assert_eq!(debit.signed(), 75);
        assert_eq!(debit.reversed().signed(), -75);
        assert_eq!(debit.reversed().account, 0);
    }

    #[test]
    fn validate_needs_two_postings() {
        let draft = TransactionDraft::new(1, "x").debit(0, 5);
        assert_eq!(draft.validate(), Err(LedgerError::TooFewPostings(1)));
        let empty = TransactionDraft::new(1, "x");
        assert_eq!(empty.validate(), Err(LedgerError::TooFewPostings(0)));
    }

    #[test]
    fn validate_rejects_zero_and_negative_amounts() {
        let zero = TransactionDraft::new(1, "x").debit(0, 0).credit(1, 0);
        assert_eq!(
            zero.validate(),
            Err(LedgerError::NonPositiveAmount {
                index: 0,
                amount: 0
            })
        );
        let negative = TransactionDraft::new(1, "x")
            .debit(0, 10)
            .credit(1, 15)
            .debit(2, -5);
        assert_eq!(
            negative.validate(),
            Err(LedgerError::NonPositiveAmount {
                index: 2,
                amount: -5
            })
        );
        let one_cent = TransactionDraft::new(1, "x").debit(0, 1).credit(1, 1);
        assert_eq!(one_cent.validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_unbalanced() {
        let draft = TransactionDraft::new(1, "x")
            .debit(0, 300)
            .debit(2, 200)
            .credit(1, 450);
        assert_eq!(
            draft.validate(),
            Err(LedgerError::Unbalanced {
                debits: 500,
                credits: 450
            })
        );
    }

    #[test]
    fn net_by_account_merges_and_drops_zero() {
        let draft = TransactionDraft::new(1, "x")
            .debit(3, 100)
            .credit(1, 40)
            .credit(3, 100)
            .debit(1, 10)
            .credit(0, 5);
        assert_eq!(draft.net_by_account(), vec![(0, -5), (1, -30)]);
    }

    #[test]
    fn transaction_effects_and_voiding() {
        let draft = TransactionDraft::new(2, "split")
            .debit(0, 70)
            .debit(1, 30)
            .credit(2, 100);
        let mut tx = Transaction::from_draft(9, draft);
        assert_eq!(tx.amount(), 100);
        assert_eq!(tx.effect_on(0), 70);
        assert_eq!(tx.effect_on(2), -100);
        assert_eq!(tx.effect_on(5), 0);
        tx.status = TxStatus::Voided;
        assert!(!tx.is_active());
        assert_eq!(tx.effect_on(0), 0);
    }

    #[test]
    fn reversal_flips_every_posting() {
        let tx = Transaction::from_draft(
            4,
            TransactionDraft::new(1, "rent")
                .debit(5, 900)
                .credit(0, 900),
        );
        let rev = tx.reversal(3);
        assert_eq!(rev.period, 3);
        assert_eq!(rev.memo, "Reversal of #4: rent");
        assert_eq!(
            rev.postings[0],
            Posting {
                account: 5,
                side: Side::Credit,
                amount: 900
            }
        );
        assert_eq!(
            rev.postings[1],
            Posting {
                account: 0,
                side: Side::Debit,
                amount: 900
            }
        );
        assert_eq!(rev.validate(), Ok(()));
    }
}
