import { computed, type ComputedRef, type Ref } from 'vue';

/**
 * A store's state as the store hands it out: a Pinia getter, so assigning it is a type error (and ignored, with
 * Vue's warning, at run time). The state changes only through the store's actions.
 */
export const asGetter = <T>(state: Ref<T>): ComputedRef<T> => computed(() => state.value);
