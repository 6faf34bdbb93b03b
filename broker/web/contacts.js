// Contacts, as cli/contacts.py keeps them: the peers a remembered identity knows by nick,
// with the key each proved. A verified contact (`trust`, after comparing safety numbers)
// is marked wherever it shows; someone who comes under a contact's nick with another
// key is never taken for it. An id is the hash of its key, so the id stands for the key.
// I/O-free: app.js keeps the book in IndexedDB (identity.js's store).

export class ContactBook {
  constructor(contacts = {}) {
    this.contacts = new Map(Object.entries(contacts)); // nick -> {id, key, verified, since_ms}
  }

  // "verified", "remembered", "mismatch" (a contact's nick, another key), or null.
  standing(id, nick) {
    let contact = this.contacts.get(nick);
    if (contact && contact.id !== id) return "mismatch";
    contact ??= [...this.contacts.values()].find((c) => c.id === id);
    if (!contact) return null;
    return contact.verified ? "verified" : "remembered";
  }

  trust(nick, id, key) {
    for (const [other, contact] of [...this.contacts]) if (contact.id === id) this.contacts.delete(other);
    this.contacts.set(nick, { id, key, verified: true, since_ms: Date.now() });
  }

  untrust(nick) { return this.contacts.delete(nick); }

  toJSON() { return Object.fromEntries(this.contacts); }
}
