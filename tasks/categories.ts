/**
 * The 20 categories of List Recall and Segment Counting, each with a
 * 10-item inventory of common single words (our own lists; the paper gives
 * only the examples of its Appendix H, whose categories we keep). Every item
 * is a single word that GPT-2 encodes, after a space, in one or two tokens,
 * and no word belongs to two categories, so a count or a recall is never
 * ambiguous across lists.
 *
 * @module
 */

/** A category name and its 10-item inventory. */
export interface Category {
  /** The header word of the category's list, e.g. `Fruits`. */
  readonly name: string;
  /** The 10 items lists of this category draw from (with replacement). */
  readonly items: readonly string[];
}

/**
 * The fixed set of 20 categories.
 *
 * @example
 * ```ts
 * import { CATEGORIES } from "@metatokens/tasks/categories";
 * console.log(CATEGORIES.length, CATEGORIES[0].name, CATEGORIES[0].items.length); // 20 "Fruits" 10
 * ```
 */
export const CATEGORIES: readonly Category[] = Object.freeze([
  {
    name: "Fruits",
    items: ["apple", "banana", "orange", "peach", "plum", "cherry", "grape", "lemon", "mango", "pear"],
  },
  {
    name: "Colors",
    items: ["red", "blue", "green", "yellow", "purple", "black", "white", "brown", "pink", "gray"],
  },
  {
    name: "Animals",
    items: ["cat", "tiger", "wolf", "fox", "horse", "lion", "bear", "rabbit", "deer", "sheep"],
  },
  {
    name: "Countries",
    items: ["France", "Spain", "Italy", "Japan", "China", "India", "Brazil", "Mexico", "Canada", "Egypt"],
  },
  {
    name: "Instruments",
    items: ["piano", "violin", "guitar", "drum", "flute", "trumpet", "clarinet", "harp", "cello", "organ"],
  },
  {
    name: "Tools",
    items: ["hammer", "wrench", "level", "pliers", "saw", "drill", "chisel", "shovel", "rake", "axe"],
  },
  {
    name: "Sports",
    items: [
      "boxing",
      "baseball",
      "golf",
      "tennis",
      "soccer",
      "hockey",
      "rugby",
      "cricket",
      "swimming",
      "skiing",
    ],
  },
  {
    name: "Vehicles",
    items: ["car", "truck", "bus", "train", "bicycle", "boat", "plane", "tractor", "van", "taxi"],
  },
  {
    name: "Metals",
    items: ["iron", "copper", "silver", "gold", "zinc", "lead", "tin", "nickel", "steel", "bronze"],
  },
  {
    name: "Trees",
    items: ["oak", "pine", "maple", "birch", "cedar", "willow", "elm", "ash", "palm", "spruce"],
  },
  {
    name: "Birds",
    items: ["eagle", "robin", "crow", "owl", "sparrow", "hawk", "parrot", "swan", "duck", "pigeon"],
  },
  {
    name: "Fish",
    items: ["salmon", "trout", "tuna", "cod", "shark", "bass", "carp", "herring", "pike", "perch"],
  },
  {
    name: "Flowers",
    items: ["rose", "tulip", "lily", "daisy", "orchid", "violet", "sunflower", "lotus", "iris", "poppy"],
  },
  {
    name: "Spices",
    items: [
      "pepper",
      "cinnamon",
      "ginger",
      "cumin",
      "nutmeg",
      "curry",
      "vanilla",
      "clove",
      "turmeric",
      "mustard",
    ],
  },
  {
    name: "Fabrics",
    items: ["cotton", "wool", "silk", "linen", "denim", "leather", "velvet", "nylon", "satin", "felt"],
  },
  {
    name: "Gems",
    items: ["diamond", "ruby", "emerald", "pearl", "quartz", "opal", "jade", "amber", "topaz", "garnet"],
  },
  {
    name: "Furniture",
    items: ["chair", "table", "sofa", "desk", "bed", "shelf", "stool", "bench", "cabinet", "dresser"],
  },
  {
    name: "Beverages",
    items: ["coffee", "tea", "milk", "juice", "water", "wine", "beer", "soda", "cider", "lemonade"],
  },
  {
    name: "Professions",
    items: ["teacher", "nurse", "lawyer", "architect", "doctor", "farmer", "baker", "pilot", "judge", "chef"],
  },
  {
    name: "Vegetables",
    items: [
      "onion",
      "cucumber",
      "broccoli",
      "carrot",
      "potato",
      "cabbage",
      "lettuce",
      "spinach",
      "celery",
      "garlic",
    ],
  },
].map((c) => Object.freeze({ name: c.name, items: Object.freeze(c.items) })));

/**
 * The category with this name; an unknown name is an error listing the choices.
 *
 * @example
 * ```ts
 * import { category } from "@metatokens/tasks/categories";
 * console.log(category("Tools").items.slice(0, 3)); // ["hammer", "wrench", "level"]
 * ```
 */
export function category(name: string): Category {
  const found = CATEGORIES.find((c) => c.name === name);
  if (found === undefined) {
    throw new RangeError(
      `Unknown category "${name}": expected one of ${CATEGORIES.map((c) => c.name).join(", ")}`,
    );
  }
  return found;
}
