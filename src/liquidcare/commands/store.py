"""`liquidcare users ...`, `liquidcare twins ...` and `liquidcare store ...`: the feedback store
from the command line (users and their keys, twins, training sets, the person's rights, backups).

Every command takes `--store PATH_OR_URL` (default: $LIQUIDCARE_STORE, else care.db): a file path
is a SQLite store, a `postgresql+psycopg://...` URL a PostgreSQL one. Whoever runs these commands
can open the database anyway, so they act as the operator, with full rights; every read and every
erasure about a person is still written to the audit log.
"""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_STORE = "care.db"


def _default_store() -> str:
    return os.environ.get("LIQUIDCARE_STORE") or DEFAULT_STORE


def _add_store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", default=None, metavar="PATH_OR_URL",
        help="the store: a SQLite file path or a postgresql+psycopg://USER:PASS@HOST:PORT/DB URL "
             f"(default: $LIQUIDCARE_STORE, else {DEFAULT_STORE})",
    )


def _open(args: argparse.Namespace, create: bool = False):  # -> Store
    from liquidcare.feedback import open_store

    return open_store(args.store or _default_store(), create=create)


# ---------------------------------------------------------------- users
def cmd_users_add(args: argparse.Namespace) -> int:
    with _open(args, create=True) as store:
        user, key = store.add_user(args.name, role=args.role)
    print(f"added user {user.id} {user.name!r} ({user.role})")
    print(f"API key (shown once, keep it safe): {key}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        users = store.list_users()
    print(f"{'ID':>4}  {'ROLE':<10} NAME")
    for u in users:
        print(f"{u.id:>4}  {u.role:<10} {u.name}")
    return 0


def cmd_users_key(args: argparse.Namespace) -> int:
    with _open(args) as store:
        if args.revoke:
            print(f"revoked {store.revoke_keys(args.user_id)} key(s) of user {args.user_id}")
        key = store.new_api_key(args.user_id)
    print(f"new API key for user {args.user_id} (shown once): {key}")
    return 0


# ---------------------------------------------------------------- twins
def cmd_twins_add(args: argparse.Namespace) -> int:
    import json

    from liquidcare.feedback import ValidationError

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except OSError as err:
        raise ValidationError(f"cannot read twin file {args.file}: {err.strerror}") from None
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValidationError(f"{args.file} is not valid JSON: {err}") from None
    with _open(args) as store:
        try:
            twin = store.create_twin(fields, by=None)
        except ValidationError as err:
            raise ValidationError(f"{args.file}: {err}") from None
        for user_id in args.link or []:
            store.link(twin.id, user_id, by=None)
    print(f"added twin {twin.id} {twin.name!r} ({twin.language})")
    return 0


def cmd_twins_list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        twins = store.list_twins(by=None)
        rows = [(t, store.linked_users(t.id, by=None)) for t in twins]
    print(f"{'ID':>4}  {'LANG':<4} {'VER':>3}  NAME  (linked users)")
    for t, users in rows:
        linked = ", ".join(f"{u.id}:{u.name} ({u.role})" for u in users) or "-"
        print(f"{t.id:>4}  {t.language:<4} {t.version:>3}  {t.name}  ({linked})")
    return 0


def cmd_twins_link(args: argparse.Namespace) -> int:
    with _open(args) as store:
        store.link(args.twin_id, args.user_id, by=None)
    print(f"user {args.user_id} can now see twin {args.twin_id}")
    return 0


# ---------------------------------------------------------------- store
def cmd_store_init(args: argparse.Namespace) -> int:
    from liquidcare.feedback.engine import describe

    with _open(args, create=True) as store:
        print(f"store {describe(store.target)} ready ({store.dialect}, "
              f"schema version {store.schema_version()})")
    return 0


def cmd_store_export(args: argparse.Namespace) -> int:
    with _open(args) as store:
        if args.person is not None:
            paths = store.export_person(args.person, args.out)
            print(f"exported everything held about person {args.person}:")
            for path in paths:
                print(f"  {path}")
        else:
            count = store.export_training_set(args.out, scope=args.scope)
            missing = store.without_consent(args.scope)
            print(f"wrote {count} rated replies to {args.out} (scope {args.scope}: only replies "
                  "the model wrote, with consent, personal data masked)")
            if missing:
                print(f"left out {missing} rated repl{'y' if missing == 1 else 'ies'} without "
                      f"the user's or the person's consent to {args.scope} "
                      "(see `liquidcare store consent`)")
    return 0


def cmd_store_forget(args: argparse.Namespace) -> int:
    from liquidcare.feedback import ValidationError

    if not args.yes:
        if not sys.stdin.isatty():
            raise ValidationError("forget erases a person's data for good: add --yes to confirm")
        answer = input(f"Erase all data of person {args.person}? Type the id again to confirm: ")
        if answer.strip() != str(args.person):
            print("nothing erased")
            return 1
    with _open(args) as store:
        erasure = store.forget_person(args.person)
        carried = [c for c in store.models_carrying_erased_data() if c.erasure_id == erasure.id]
    kinds = ", ".join(f"{k} {n}" for k, n in erasure.kinds.items() if n)
    print(f"erased person {args.person} (erasure record {erasure.id}): {kinds}")
    for c in carried:
        print(f"  model {c.adapter_version} learnt from {c.examples} erased example(s): retrain it")
    return 0


def cmd_store_audit(args: argparse.Namespace) -> int:
    with _open(args) as store:
        entries = store.audit(args.person)
    if not entries:
        print(f"no audit entries for person {args.person}")
        return 0
    print(f"{'WHEN (UTC)':<20} {'WHO':<18} {'ACTION':<8} WHAT")
    for e in entries:
        who = f"{e.actor_role} #{e.actor_id}" if e.actor_id is not None else e.actor_role
        what = e.kind + (f" {e.object_id}" if e.object_id is not None else "")
        print(f"{e.at.isoformat(timespec='seconds'):<20} {who:<18} {e.action:<8} {what}")
    return 0


def cmd_store_erasures(args: argparse.Namespace) -> int:
    with _open(args) as store:
        erasures = store.erasures()
        carried = store.models_carrying_erased_data()
    print(f"{len(erasures)} erasure record(s)")
    for e in erasures:
        kinds = ", ".join(f"{k} {n}" for k, n in e.kinds.items() if n)
        print(f"  #{e.id} {e.at.isoformat(timespec='seconds')} person {e.person_id} "
              f"by {e.by_role}: {kinds}")
    if carried:
        print("models that still carry erased data (retrain them without it):")
        for c in carried:
            print(f"  {c.adapter_version}: {c.examples} example(s) of erasure #{c.erasure_id}")
    return 0


def cmd_store_consent(args: argparse.Namespace) -> int:
    from liquidcare.feedback import ValidationError

    who = {"twin_id": args.twin, "user_id": args.user}
    if (args.twin is None) == (args.user is None):
        raise ValidationError("name one person (--twin ID) or one user (--user ID)")
    subject = f"person {args.twin}" if args.twin is not None else f"user {args.user}"
    with _open(args) as store:
        if args.consent_action == "grant":
            c = store.grant_consent(args.scope, by=None, note=args.note or "", **who)
            print(f"{subject} consents to {c.scope} since "
                  f"{c.granted_at.isoformat(timespec='seconds')} (record #{c.id})")
        elif args.consent_action == "withdraw":
            n = store.withdraw_consent(args.scope, by=None, **who)
            print(f"withdrew {n} consent(s) of {subject} to {args.scope}"
                  + ("; the next training export leaves their data out" if n else ""))
        else:
            records = store.consents(by=None, **who)
            if not records:
                print(f"no consent recorded for {subject}")
            for c in records:
                state = ("active" if c.active else
                         f"withdrawn {c.withdrawn_at.isoformat(timespec='seconds')}")
                print(f"#{c.id} {c.scope:<20} given {c.granted_at.isoformat(timespec='seconds')} "
                      f"by {c.granted_by_role}: {state}" + (f" ({c.note})" if c.note else ""))
    return 0


def cmd_store_backup(args: argparse.Namespace) -> int:
    with _open(args) as store:
        path = store.backup(args.path)
    print(f"backed up to {path}")
    return 0


def cmd_store_restore(args: argparse.Namespace) -> int:
    with _open(args, create=True) as store:
        report = store.restore(args.path)
        print(f"restored {args.path} (schema version {store.schema_version()})")
    print(f"kept the store as it was in {report.kept_copy}")
    if report.reapplied_erasures:
        ids = ", ".join(f"#{i}" for i in report.reapplied_erasures)
        print(f"re-applied {len(report.reapplied_erasures)} erasure record(s) newer than the "
              f"backup ({ids}): erased people stay erased")
    if report.audit_entries_kept:
        print(f"carried over {report.audit_entries_kept} audit entries written since the backup")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="add and list the store's users and their API keys")
    users.set_defaults(func=lambda args: users.print_help() or 0)
    usub = users.add_subparsers(dest="users_command", metavar="<action>", title="actions")
    add = usub.add_parser("add", help="add a user and print their API key once")
    add.add_argument("name", help="the user's name as shown to others")
    add.add_argument("--role", default="person",
                     choices=["person", "carer", "clinician", "admin"],
                     help="person (the cared person), carer, clinician or admin (default person)")
    _add_store_option(add)
    add.set_defaults(func=cmd_users_add)
    listing = usub.add_parser("list", help="list users (never their keys)")
    _add_store_option(listing)
    listing.set_defaults(func=cmd_users_list)
    key = usub.add_parser("key", help="give a user a new API key (e.g. after losing one)")
    key.add_argument("user_id", type=int)
    key.add_argument("--revoke", action="store_true", help="revoke the user's other keys first")
    _add_store_option(key)
    key.set_defaults(func=cmd_users_key)

    twins = sub.add_parser("twins", help="the digital twins of the cared people")
    twins.set_defaults(func=lambda args: twins.print_help() or 0)
    tsub = twins.add_subparsers(dest="twins_command", metavar="<action>", title="actions")
    tadd = tsub.add_parser(
        "add", help="add a twin from a JSON file",
        description="Adds a twin from a JSON object with the fields name, language (es|en), "
                    "age, conditions, medications [{name, dose, schedule: [HH:MM]}], routines, "
                    "preferences, carers [{name, relation, phone}], emergency_contact, notes.")
    tadd.add_argument("file", help="the twin as JSON ('-' reads standard input)")
    tadd.add_argument("--link", type=int, action="append", metavar="USER_ID",
                      help="let this user see the twin (repeatable)")
    _add_store_option(tadd)
    tadd.set_defaults(func=cmd_twins_add)
    tlist = tsub.add_parser("list", help="list twins and who may see them")
    _add_store_option(tlist)
    tlist.set_defaults(func=cmd_twins_list)
    tlink = tsub.add_parser("link", help="let a user (carer, clinician) see a twin")
    tlink.add_argument("twin_id", type=int)
    tlink.add_argument("user_id", type=int)
    _add_store_option(tlink)
    tlink.set_defaults(func=cmd_twins_link)

    store = sub.add_parser(
        "store", help="the feedback store: init, training export, a person's rights, backups")
    store.set_defaults(func=lambda args: store.print_help() or 0)
    ssub = store.add_subparsers(dest="store_command", metavar="<action>", title="actions")
    init = ssub.add_parser("init", help="create the store (or migrate it to the newest schema)")
    _add_store_option(init)
    init.set_defaults(func=cmd_store_init)
    export = ssub.add_parser(
        "export", help="write the training set (JSONL), or with --person everything held "
                       "about one person (JSON + a readable summary)")
    export.add_argument("--out", required=True,
                        help="the JSONL file (training set) or, with --person, a folder")
    export.add_argument("--person", type=int, metavar="ID",
                        help="the person's id (their twin's id): export their data instead")
    export.add_argument("--scope", default="research_retraining",
                        choices=["research_retraining", "federated"],
                        help="the use the training set is for: only conversations whose user "
                             "and person consent to it are exported (default "
                             "research_retraining)")
    _add_store_option(export)
    export.set_defaults(func=cmd_store_export)
    forget = ssub.add_parser(
        "forget", help="erase everything held about a person (keeps an erasure record)")
    forget.add_argument("--person", type=int, required=True, metavar="ID",
                        help="the person's id (their twin's id)")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _add_store_option(forget)
    forget.set_defaults(func=cmd_store_forget)
    audit = ssub.add_parser("audit", help="who read or changed a person's record, and when")
    audit.add_argument("--person", type=int, required=True, metavar="ID")
    _add_store_option(audit)
    audit.set_defaults(func=cmd_store_audit)
    erasures = ssub.add_parser(
        "erasures", help="erasure records and the models that still carry erased data")
    _add_store_option(erasures)
    erasures.set_defaults(func=cmd_store_erasures)
    consent = ssub.add_parser(
        "consent", help="record, withdraw or list a person's or a user's consent",
        description="Consent per person (--twin ID) or per user (--user ID) and scope: service, "
                    "research_retraining (retraining this centre's model) or federated. A "
                    "conversation enters a training set only while its user and, when it is "
                    "about a twin, that person consent to the set's scope.")
    csub = consent.add_subparsers(dest="consent_action", metavar="<action>", title="actions",
                                  required=True)
    for action, text in (("grant", "record consent (e.g. from a signed form: --note)"),
                         ("withdraw", "withdraw consent (the next export leaves the data out)"),
                         ("list", "every consent given and withdrawn")):
        c = csub.add_parser(action, help=text)
        group = c.add_mutually_exclusive_group(required=True)
        group.add_argument("--twin", type=int, metavar="ID", help="the person (their twin's id)")
        group.add_argument("--user", type=int, metavar="ID", help="a user's own consent")
        if action != "list":
            c.add_argument("--scope", required=True,
                           choices=["service", "research_retraining", "federated"])
        if action == "grant":
            c.add_argument("--note", help="how it was given (form, representative, ...)")
        _add_store_option(c)
        c.set_defaults(func=cmd_store_consent)
    backup = ssub.add_parser(
        "backup", help="copy a live SQLite store to PATH (PostgreSQL: use pg_dump)")
    backup.add_argument("path")
    _add_store_option(backup)
    backup.set_defaults(func=cmd_store_backup)
    restore = ssub.add_parser(
        "restore", help="replace the SQLite store's content with a backup (PostgreSQL: "
                        "use pg_restore)",
        description="Checks the backup whole (SQLite integrity_check) before touching anything, "
                    "keeps a copy of the current store beside it (STORE.before-restore-TIME), "
                    "copies the backup in, and applies again every erasure the backup does not "
                    "know of, so that a person erased since the backup stays erased.")
    restore.add_argument("path")
    _add_store_option(restore)
    restore.set_defaults(func=cmd_store_restore)
