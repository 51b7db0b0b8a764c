//! The ledger state machine: posting, voiding, period closing and reports.

use crate::account::{AccountId, AccountKind, Chart};
use crate::error::LedgerError;
use crate::money::Cents;
use crate::transaction::{Transaction, TransactionDraft, TxId, TxStatus};

/// One line of a trial balance: a non-zero balance on the debit or credit side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialRow {
    pub account: AccountId,
    pub code: u32,
    pub debit: Cents,
    pub credit: Cents,
}

/// All non-zero account balances with their column totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialBalance {
    pub rows: Vec<TrialRow>,
    pub total_debits: Cents,
    pub total_credits: Cents,
}

impl TrialBalance {
    pub fn is_balanced(&self) -> bool {
        self.total_debits == self.total_credits
    }
}

/// Accounts, posted transactions and the closed-period watermark.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    chart: Chart,
    transactions: Vec<Transaction>,
    closed_through: Option<u32>,
}

impl Ledger {
    pub fn new(chart: Chart) -> Self {
        Ledger {
            chart,
            transactions: Vec::new(),
            closed_through: None,
        }
    }

    pub fn chart(&self) -> &Chart {
        &self.chart
    }

    pub fn chart_mut(&mut self) -> &mut Chart {
        &mut self.chart
    }

    /// The last closed period, if any; periods up to and including it are read-only.
    pub fn closed_through(&self) -> Option<u32> {
        self.closed_through
    }

    pub fn transaction(&self, id: TxId) -> Result<&Transaction, LedgerError> {
        self.transactions
            .get(id)
            .ok_or(LedgerError::UnknownTransaction(id))
    }

    /// Number of transactions ever posted (voided ones included).
    pub fn transaction_count(&self) -> usize {
        self.transactions.len()
    }

    /// Fails if `period` is at or before the closed watermark.
    pub fn check_period_open(&self, period: u32) -> Result<(), LedgerError> {
        if let Some(closed_through) = self.closed_through {
            if period <= closed_through {
                return Err(LedgerError::PeriodClosed {
                    period,
                    closed_through,
                });
            }
        }
        Ok(())
    }

    /// Validates and records a transaction, returning its id.
    pub fn post(&mut self, draft: TransactionDraft) -> Result<TxId, LedgerError> {
        draft.validate()?;
        self.check_period_open(draft.period)?;
        for posting in &draft.postings {
            self.chart.require_open(posting.account)?;
        }
        let id = self.transactions.len();
        self.transactions.push(Transaction::from_draft(id, draft));
        Ok(id)
    }

    /// Marks a transaction voided; its period must still be open.
    pub fn void(&mut self, id: TxId) -> Result<(), LedgerError> {
        let tx = self.transaction(id)?;
        if tx.status == TxStatus::Voided {
            return Err(LedgerError::AlreadyVoided(id));
        }
        self.check_period_open(tx.period)?;
        self.transactions[id].status = TxStatus::Voided;
        Ok(())
    }

    /// Posts a transaction that cancels `id` in `period` (used once `id`'s own period
    /// is closed).
    pub fn reverse(&mut self, id: TxId, period: u32) -> Result<TxId, LedgerError> {
        let tx = self.transaction(id)?;
        if !tx.is_active() {
            return Err(LedgerError::AlreadyVoided(id));
        }
        let draft = tx.reversal(period);
        self.post(draft)
    }

    /// Debit-positive balance of `account` over periods `..=through` (all when `None`).
    pub fn raw_balance(
        &self,
        account: AccountId,
        through: Option<u32>,
    ) -> Result<Cents, LedgerError> {
        self.chart.get(account)?;
        Ok(self.sum_effects(account, through))
    }

    fn sum_effects(&self, account: AccountId, through: Option<u32>) -> Cents {
        self.transactions
            .iter()
            .filter(|tx| through.is_none_or(|last| tx.period <= last))
            .map(|tx| tx.effect_on(account))
            .sum()
    }

    /// Balance of `account` in its natural sign (e.g. a liability's credits are positive).
    pub fn balance(&self, account: AccountId) -> Result<Cents, LedgerError> {
        let kind = self.chart.get(account)?.kind;
        Ok(kind.natural_balance(self.raw_balance(account, None)?))
    }

    /// Natural-sign balance as of the end of `period`.
    pub fn balance_at(&self, account: AccountId, period: u32) -> Result<Cents, LedgerError> {
        let kind = self.chart.get(account)?.kind;
        Ok(kind.natural_balance(self.raw_balance(account, Some(period))?))
    }

    /// Trial balance over all active transactions, rows ordered by account code.
    pub fn trial_balance(&self) -> TrialBalance {
        let mut rows = Vec::new();
        let mut total_debits = 0;
        let mut total_credits = 0;
        for account in self.chart.by_code() {
            let raw = self.sum_effects(account.id, None);
            if raw == 0 {
                continue;
            }
            let (debit, credit) = if raw > 0 { (raw, 0) } else { (0, -raw) };
            total_debits += debit;
            total_credits += credit;
            rows.push(TrialRow {
                account: account.id,
                code: account.code,
                debit,
                credit,
            });
        }
        TrialBalance {
            rows,
            total_debits,
            total_credits,
        }
    }

    /// Income minus expenses over periods `from..=to`.
    pub fn net_income(&self, from: u32, to: u32) -> Cents {
        let mut net = 0;
        for tx in &self.transactions {
            if tx.period < from || tx.period > to || !tx.is_active() {
                continue;
            }
            for posting in &tx.postings {
                let Ok(account) = self.chart.get(posting.account) else {
                    continue;
                };
                match account.kind {
                    AccountKind::Income | AccountKind::Expense => net -= posting.signed(),
                    _ => {}
                }
            }
        }
        net
    }

    /// Closes the books for `period`: posts a closing entry that moves every income and
    /// expense balance into the `retained` equity account, then closes the period.
    /// Returns the closing entry's id, or `None` when there was nothing to move.
    pub fn close_period(
        &mut self,
        period: u32,
        retained: AccountId,
    ) -> Result<Option<TxId>, LedgerError> {
        self.check_period_open(period)?;
        let target = self.chart.require_open(retained)?;
        if target.kind != AccountKind::Equity {
            return Err(LedgerError::WrongKind {
                account: retained,
                expected: AccountKind::Equity,
            });
        }
        let mut draft = TransactionDraft::new(period, "Closing entry");
        let mut net: Cents = 0;
        let mut temporary = self.chart.accounts_of_kind(AccountKind::Income);
        temporary.extend(self.chart.accounts_of_kind(AccountKind::Expense));
        for account in temporary {
            let raw = self.raw_balance(account, Some(period))?;
            if raw > 0 {
                draft = draft.credit(account, raw);
            } else if raw < 0 {
                draft = draft.debit(account, -raw);
            }
            net += raw;
        }
        let entry = if draft.postings.is_empty() {
            None
        } else {
            if net > 0 {
                draft = draft.debit(retained, net);
            } else if net < 0 {
                draft = draft.credit(retained, -net);
            }
            Some(self.post(draft)?)
        };
        self.closed_through = Some(period);
        Ok(entry)
    }

    /// Closes an account; its balance must be zero.
    pub fn close_account(&mut self, account: AccountId) -> Result<(), LedgerError> {
        let balance = self.raw_balance(account, None)?;
        if balance != 0 {
            return Err(LedgerError::NonZeroBalance { account, balance });
        }
        self.chart.close(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ids: 0 cash 1010, 1 loan 2010, 2 capital 3010, 3 retained 3900,
    //      4 sales 4010, 5 rent 5010, 6 supplies 5020
    fn books() -> Ledger {
        let mut chart = Chart::new();
        for (code, name) in [
            (1010, "Cash"),
            (2010, "Loan"),
            (3010, "Capital"),
            (3900, "Retained earnings"),
            (4010, "Sales"),
            (5010, "Rent"),
            (5020, "Supplies"),
        ] {
            chart.open(code, name).unwrap();
        }
        Ledger::new(chart)
    }

    fn pay(
        ledger: &mut Ledger,
        period: u32,
        debit: AccountId,
        credit: AccountId,
        amount: Cents,
    ) -> TxId {
        ledger
            .post(
                TransactionDraft::new(period, "t")
                    .debit(debit, amount)
                    .credit(credit, amount),
            )
            .unwrap()
    }

    #[test]
    fn posting_updates_natural_balances() {
        let mut l = books();
        pay(&mut l, 1, 0, 2, 10_000);
        pay(&mut l, 1, 0, 1, 5_000);
        pay(&mut l, 1, 5, 0, 2_000);
        assert_eq!(l.balance(0), Ok(13_000));
        assert_eq!(l.balance(1), Ok(5_000));
        assert_eq!(l.balance(2), Ok(10_000));
        assert_eq!(l.balance(5), Ok(2_000));
        assert_eq!(l.raw_balance(2, None), Ok(-10_000));
    }

    #[test]
    fn post_assigns_increasing_ids() {
        let mut l = books();
        assert_eq!(pay(&mut l, 1, 0, 2, 1), 0);
        assert_eq!(pay(&mut l, 1, 0, 2, 1), 1);
        assert_eq!(l.transaction_count(), 2);
    }

    #[test]
    fn post_rejects_unknown_and_closed_accounts() {
        let mut l = books();
        let bad = TransactionDraft::new(1, "x").debit(0, 5).credit(42, 5);
        assert_eq!(l.post(bad), Err(LedgerError::UnknownAccount(42)));
        l.chart_mut().close(6).unwrap();
        let closed = TransactionDraft::new(1, "x").debit(6, 5).credit(0, 5);
        assert_eq!(l.post(closed), Err(LedgerError::AccountClosed(6)));
        assert_eq!(l.transaction_count(), 0);
    }

    #[test]
    fn post_rejects_unbalanced_before_touching_state() {
        let mut l = books();
        let draft = TransactionDraft::new(1, "x").debit(0, 5).credit(2, 4);
        assert_eq!(
            l.post(draft),
            Err(LedgerError::Unbalanced {
                debits: 5,
                credits: 4
            })
        );
        assert_eq!(l.transaction_count(), 0);
        assert_eq!(l.balance(0), Ok(0));
    }

    #[test]
    fn voiding_removes_effect_once() {
        let mut l = books();
        let id = pay(&mut l, 1, 0, 4, 700);
        pay(&mut l, 1, 0, 4, 300);
        assert_eq!(l.void(id), Ok(()));
        assert_eq!(l.balance(4), Ok(300));
        assert_eq!(l.void(id), Err(LedgerError::AlreadyVoided(id)));
        assert_eq!(l.void(9), Err(LedgerError::UnknownTransaction(9)));
    }

    #[test]
    fn balance_at_respects_period() {
        let mut l = books();
        pay(&mut l, 1, 0, 4, 100);
        pay(&mut l, 2, 0, 4, 200);
        pay(&mut l, 3, 0, 4, 400);
        assert_eq!(l.balance_at(0, 0), Ok(0));
        assert_eq!(l.balance_at(0, 1), Ok(100));
        assert_eq!(l.balance_at(0, 2), Ok(300));
        assert_eq!(l.balance_at(4, 3), Ok(700));
        assert_eq!(l.balance_at(99, 3), Err(LedgerError::UnknownAccount(99)));
    }

    #[test]
    fn trial_balance_lists_nonzero_accounts_by_code() {
        let mut l = books();
        pay(&mut l, 1, 0, 2, 10_000);
        pay(&mut l, 1, 5, 0, 2_500);
        pay(&mut l, 1, 0, 4, 4_000);
        let tb = l.trial_balance();
        let rows: Vec<(u32, Cents, Cents)> = tb
            .rows
            .iter()
            .map(|r| (r.code, r.debit, r.credit))
            .collect();
        assert_eq!(
            rows,
            vec![
                (1010, 11_500, 0),
                (3010, 0, 10_000),
                (4010, 0, 4_000),
                (5010, 2_500, 0)
            ]
        );
        assert_eq!(tb.total_debits, 14_000);
        assert_eq!(tb.total_credits, 14_000);
        assert!(tb.is_balanced());
    }

    #[test]
    fn net_income_covers_inclusive_period_range() {
        let mut l = books();
        pay(&mut l, 1, 0, 4, 1_000);
        pay(&mut l, 2, 0, 4, 2_000);
        pay(&mut l, 2, 5, 0, 500);
        pay(&mut l, 3, 6, 0, 300);
        assert_eq!(l.net_income(1, 1), 1_000);
        assert_eq!(l.net_income(2, 2), 1_500);
        assert_eq!(l.net_income(1, 3), 2_200);
        assert_eq!(l.net_income(3, 3), -300);
        assert_eq!(l.net_income(4, 9), 0);
    }

    #[test]
    fn closed_period_rejects_posting_and_voiding() {
        let mut l = books();
        let early = pay(&mut l, 1, 0, 2, 100);
        assert_eq!(l.close_period(1, 3), Ok(None));
        assert_eq!(l.closed_through(), Some(1));
        let late = TransactionDraft::new(1, "late").debit(0, 5).credit(2, 5);
        assert_eq!(
            l.post(late),
            Err(LedgerError::PeriodClosed {
                period: 1,
                closed_through: 1
            })
        );
        assert_eq!(
            l.void(early),
            Err(LedgerError::PeriodClosed {
                period: 1,
                closed_through: 1
            })
        );
        assert_eq!(pay(&mut l, 2, 0, 2, 5), 1);
    }

    #[test]
    fn close_period_moves_profit_to_retained_earnings() {
        let mut l = books();
        pay(&mut l, 1, 0, 4, 5_000);
        pay(&mut l, 1, 5, 0, 1_200);
        pay(&mut l, 1, 6, 0, 300);
        pay(&mut l, 2, 0, 4, 9_999);
        let entry = l.close_period(1, 3).unwrap().unwrap();
        let tx = l.transaction(entry).unwrap();
        assert_eq!(tx.amount(), 5_000);
        assert_eq!(l.balance_at(3, 1), Ok(3_500));
        assert_eq!(l.balance_at(4, 1), Ok(0));
        assert_eq!(l.balance_at(5, 1), Ok(0));
        assert_eq!(l.balance(4), Ok(9_999));
        assert!(l.trial_balance().is_balanced());
    }

    #[test]
    fn close_period_with_loss_debits_retained_earnings() {
        let mut l = books();
        pay(&mut l, 1, 0, 4, 100);
        pay(&mut l, 1, 5, 0, 400);
        l.close_period(1, 3).unwrap();
        assert_eq!(l.balance(3), Ok(-300));
        assert_eq!(l.net_income(1, 1), 0);
    }

    #[test]
    fn close_period_at_break_even_leaves_retained_untouched() {
        let mut l = books();
        pay(&mut l, 1, 0, 4, 500);
        pay(&mut l, 1, 5, 0, 500);
        let entry = l.close_period(1, 3).unwrap().unwrap();
        assert_eq!(l.transaction(entry).unwrap().postings.len(), 2);
        assert_eq!(l.balance(3), Ok(0));
        assert_eq!(l.balance(4), Ok(0));
    }

    #[test]
    fn close_period_validates_target_and_order() {
        let mut l = books();
        assert_eq!(
            l.close_period(1, 0),
            Err(LedgerError::WrongKind {
                account: 0,
                expected: AccountKind::Equity
            })
        );
        assert_eq!(l.closed_through(), None);
        l.close_period(2, 3).unwrap();
        assert_eq!(
            l.close_period(2, 3),
            Err(LedgerError::PeriodClosed {
                period: 2,
                closed_through: 2
            })
        );
        assert_eq!(l.close_period(3, 3), Ok(None));
    }

    #[test]
    fn reverse_posts_opposite_entry() {
        let mut l = books();
        let id = pay(&mut l, 1, 5, 0, 800);
        l.close_period(1, 3).unwrap();
        let rev = l.reverse(id, 2).unwrap();
        assert_eq!(l.transaction(rev).unwrap().period, 2);
        assert_eq!(l.balance(0), Ok(0));
        assert_eq!(l.balance_at(0, 1), Ok(-800));
        l.void(rev).unwrap();
        assert_eq!(l.reverse(rev, 2), Err(LedgerError::AlreadyVoided(rev)));
    }

    #[test]
    fn close_account_requires_zero_balance() {
        let mut l = books();
        let id = pay(&mut l, 1, 6, 0, 50);
        assert_eq!(
            l.close_account(6),
            Err(LedgerError::NonZeroBalance {
                account: 6,
                balance: 50
            })
        );
        l.void(id).unwrap();
        assert_eq!(l.close_account(6), Ok(()));
        assert_eq!(l.close_account(6), Err(LedgerError::AccountClosed(6)));
    }
}
