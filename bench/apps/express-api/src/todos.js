// In-memory store: enough for the image to run and answer.
const items = [];
exports.todos = {
  list: () => items,
  add: (t) => {
    const item = { id: items.length + 1, ...t };
    items.push(item);
    return item;
  },
};
