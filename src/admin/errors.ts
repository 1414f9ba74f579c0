// The refusals of operator operations. Every front shows them its own way: the CLI prints the
// message, the admin API answers RFC 9457 problem details with the status of the class, the console
// shows the message on the form.

/** A request an operator operation refuses (bad input, a rule broken): 400 in the admin API. */
export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

/** What the operation names does not exist: 404. */
export class NotFoundError extends AdminError {}

/** The operation conflicts with the current state (a duplicate, the last owner, a change meanwhile): 409. */
export class ConflictError extends AdminError {}

/** The caller's If-Match names another version than the stored one: 412. */
export class PreconditionFailedError extends AdminError {}
